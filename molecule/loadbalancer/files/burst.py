"""Send COUNT requests for HOST to https://ADDRESS/ back to back (in well under a second, whatever the load
on the machine) and print their status codes, one line, space-separated.  Loopback addresses only."""

import http.client
import ssl
import sys


def main():
    address, host, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    statuses = []
    while len(statuses) < count:
        connection = http.client.HTTPSConnection(address, 443, timeout=10, context=context)
        connection.request("GET", "/", headers={"Host": host})
        statuses.append(str(connection.getresponse().status))
        connection.close()
    print(" ".join(statuses))


if __name__ == "__main__":
    main()
