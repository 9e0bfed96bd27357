"""Reload HAProxy RELOADS times while CLIENTS threads keep sending HTTPS requests (a new connection each);
print the counts as JSON and exit 1 if any request failed. Bounded: at most DEADLINE seconds.

Usage: reload_under_load.py ADDRESS HOSTNAME [RELOADS] [CLIENTS]"""
import http.client
import json
import ssl
import subprocess
import sys
import threading
import time

DEADLINE = 90.0


def main(address, hostname, reloads=20, clients=4):
    reloads, clients = int(reloads), int(clients)
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    stop = threading.Event()
    lock = threading.Lock()
    counts = {"ok": 0, "failed": 0, "errors": []}

    def client():
        while not stop.is_set():
            try:
                conn = http.client.HTTPSConnection(address, 443, timeout=10, context=context)
                conn.request("GET", "/reload-check", headers={"Host": hostname})
                status = conn.getresponse().status
                conn.close()
                error = None if status == 200 else "status %d" % status
            except (OSError, http.client.HTTPException) as exc:
                error = repr(exc)
            with lock:
                if error is None:
                    counts["ok"] += 1
                else:
                    counts["failed"] += 1
                    counts["errors"].append(error)
            time.sleep(0.005)

    threads = [threading.Thread(target=client, daemon=True) for _index in range(clients)]
    start = time.monotonic()
    for thread in threads:
        thread.start()
    time.sleep(0.5)
    done = 0
    for _reload in range(reloads):
        if time.monotonic() - start > DEADLINE:
            break
        subprocess.run(["service", "haproxy", "reload"], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        done += 1
        time.sleep(0.3)
    time.sleep(0.5)
    stop.set()
    for thread in threads:
        thread.join(15)
    counts["reloads"] = done
    counts["errors"] = counts["errors"][:10]
    print(json.dumps(counts))
    return 0 if counts["failed"] == 0 and counts["ok"] > 0 and done == reloads else 1


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
