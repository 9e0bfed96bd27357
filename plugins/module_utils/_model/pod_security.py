# -*- coding: utf-8 -*-
# Copyright: netzone.segmentation contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Pod Security Standards, as the API server's Pod Security Admission checks them (plain Python, no I/O).

:func:`evaluate` takes a pod's ``metadata`` and ``spec`` (mappings, as the API returns them), a level
(``privileged``, ``baseline``, ``restricted``) and a version (``v1.N`` or ``latest``), and returns the
violations in the order and with the wording of the upstream checks (``k8s.io/pod-security-admission``,
``policy/check_*.go``), so that ``violates PodSecurity "baseline:v1.33": host namespaces (hostNetwork=true)``
reads here as it reads from a real API server.  Every check of the upstream registry is implemented with its
versions (the latest known version is :data:`LATEST`; ``latest`` and any newer version evaluate as it):

* baseline: AppArmor profiles, added capabilities beyond the default set, host namespaces (hostNetwork,
  hostPID, hostIPC), hostPath volumes, hostPorts, probe and lifecycle hosts (1.34+), privileged containers,
  procMount, SELinux options, seccomp ``Unconfined`` (annotations before 1.19, fields from 1.19), sysctls
  outside the safe set (per version), Windows hostProcess;
* restricted, on top of baseline (some checks replace their baseline counterpart): allowPrivilegeEscalation,
  capabilities (drop ALL, add only NET_BIND_SERVICE; 1.22+), procMount (1.35+), volume types, runAsNonRoot,
  runAsUser=0 (1.23+), seccomp profile required (1.19+); Windows pods and user-namespace pods are relaxed
  where upstream relaxes them.

The unit tests run it over upstream's own test data (``tests/fixtures/pod_security/``).
"""

from __future__ import annotations

import re

LEVELS = ("privileged", "baseline", "restricted")
#: The newest version with a change in the upstream checks: ``latest`` evaluates as this one.
LATEST = (1, 37)
_VERSION = re.compile(r"^v1\.(0|[1-9][0-9]{0,2})$")

#: The Pod Security Admission namespace labels (``<prefix><mode>`` and ``<prefix><mode>-version``).
LABEL_PREFIX = "pod-security.kubernetes.io/"
MODES = ("enforce", "audit", "warn")

BASELINE_CAPABILITIES = frozenset((
    "AUDIT_WRITE", "CHOWN", "DAC_OVERRIDE", "FOWNER", "FSETID", "KILL", "MKNOD", "NET_BIND_SERVICE", "SETFCAP",
    "SETGID", "SETPCAP", "SETUID", "SYS_CHROOT"))
_SYSCTLS_1_0 = frozenset(("kernel.shm_rmid_forced", "net.ipv4.ip_local_port_range", "net.ipv4.tcp_syncookies",
                          "net.ipv4.ping_group_range", "net.ipv4.ip_unprivileged_port_start"))
_SYSCTLS_1_27 = _SYSCTLS_1_0 | {"net.ipv4.ip_local_reserved_ports"}
_SYSCTLS_1_29 = _SYSCTLS_1_27 | {"net.ipv4.tcp_keepalive_time", "net.ipv4.tcp_fin_timeout",
                                 "net.ipv4.tcp_keepalive_intvl", "net.ipv4.tcp_keepalive_probes"}
_SYSCTLS_1_32 = _SYSCTLS_1_29 | {"net.ipv4.tcp_rmem", "net.ipv4.tcp_wmem"}
_SYSCTLS_1_37 = _SYSCTLS_1_32 | {"net.ipv4.tcp_slow_start_after_idle", "net.ipv4.tcp_notsent_lowat"}
_SELINUX_1_0 = frozenset(("", "container_t", "container_init_t", "container_kvm_t"))
_SELINUX_1_31 = _SELINUX_1_0 | {"container_engine_t"}
_RESTRICTED_VOLUMES_OK = ("configMap", "csi", "downwardAPI", "emptyDir", "ephemeral", "image",
                          "persistentVolumeClaim", "projected", "secret")
_RESTRICTED_VOLUME_NAMES = (
    "hostPath", "gcePersistentDisk", "awsElasticBlockStore", "gitRepo", "nfs", "iscsi", "glusterfs", "rbd",
    "flexVolume", "cinder", "cephfs", "flocker", "fc", "azureFile", "vsphereVolume", "quobyte", "azureDisk",
    "photonPersistentDisk", "portworxVolume", "scaleIO", "storageos")
_APPARMOR_ANNOTATION = "container.apparmor.security.beta.kubernetes.io/"
_SECCOMP_POD_ANNOTATION = "seccomp.security.alpha.kubernetes.io/pod"
_SECCOMP_CONTAINER_ANNOTATION = "container.seccomp.security.alpha.kubernetes.io/"


class PodSecurityError(ValueError):
    """A level or version that Pod Security Admission would not accept."""


def parse_version(version):
    """``"latest"`` or ``"v1.N"`` -> ``(1, N)`` (``latest`` and versions past :data:`LATEST` -> LATEST)."""
    if version == "latest":
        return LATEST
    match = _VERSION.fullmatch(version) if isinstance(version, str) else None
    if not match:
        raise PodSecurityError("%r is not a Pod Security version (expected 'latest' or 'v1.N', e.g. 'v1.33')"
                               % (version,))
    return min((1, int(match.group(1))), LATEST)


def check_level(level):
    if level not in LEVELS:
        raise PodSecurityError("%r is not a Pod Security level (expected one of: %s)" % (level, ", ".join(LEVELS)))
    return level


# --- helpers -------------------------------------------------------------------------------------
def _plural(singular, plural, count):
    return singular if count == 1 else plural


def _quote(items):
    return '"' + '", "'.join(items) + '"' if items else ""


def _containers(spec):
    """initContainers, containers, ephemeralContainers (upstream's visitContainers order)."""
    out = []
    for key in ("initContainers", "containers", "ephemeralContainers"):
        out.extend(c for c in spec.get(key) or [] if isinstance(c, dict))
    return out


def _sc(obj):
    value = obj.get("securityContext")
    return value if isinstance(value, dict) else None


def _get(obj, *keys):
    for key in keys:
        if not isinstance(obj, dict):
            return None
        obj = obj.get(key)
    return obj


def _windows(spec):
    return _get(spec, "os", "name") == "windows"


def _user_namespace(spec):
    return spec.get("hostUsers") is False


def _offending(spec, values_of):
    """The containers (all kinds) for which ``values_of(container)`` finds something: (their names, in
    order, and the set of everything found)."""
    names, found = [], set()
    for c in _containers(spec):
        values = values_of(c)
        if values:
            names.append(c.get("name", ""))
            found.update(values)
    return names, found


def _setters(pod_bad, containers):
    out = ["pod"] if pod_bad else []
    if containers:
        out.append("%s %s" % (_plural("container", "containers", len(containers)), _quote(containers)))
    return out


# --- baseline checks -----------------------------------------------------------------------------
def _apparmor(meta, spec, _version):
    setters, values = [], set()
    if _get(spec, "securityContext", "appArmorProfile") is not None:
        kind = _get(spec, "securityContext", "appArmorProfile", "type") or ""
        if kind not in ("RuntimeDefault", "Localhost"):
            setters.append("pod")
            values.add(kind)

    def bad_profile(c):
        profile = _get(c, "securityContext", "appArmorProfile")
        if profile is None or (profile.get("type") or "") in ("RuntimeDefault", "Localhost"):
            return []
        return [profile.get("type") or ""]

    bad, kinds = _offending(spec, bad_profile)
    values.update(kinds)
    if bad:
        setters.append("%s %s" % (_plural("container", "containers", len(bad)), _quote(bad)))
    annotations = sorted('%s="%s"' % (k, v) for k, v in (meta.get("annotations") or {}).items()
                         if k.startswith(_APPARMOR_ANNOTATION)
                         and not (v == "" or v == "runtime/default" or str(v).startswith("localhost/")))
    listed = sorted(values) + annotations
    if annotations:
        setters.append(_plural("annotation", "annotations", len(annotations)))
    if setters:
        return (_plural("forbidden AppArmor profile", "forbidden AppArmor profiles", len(listed)),
                "%s must not set AppArmor profile type to %s" % (" and ".join(setters), _quote(listed)))
    return None


def _capabilities_baseline(_meta, spec, _version):
    bad, caps = _offending(spec, lambda c: [x for x in _get(c, "securityContext", "capabilities", "add") or []
                                            if x not in BASELINE_CAPABILITIES])
    if bad:
        return ("non-default capabilities", "%s %s must not include %s in securityContext.capabilities.add"
                % (_plural("container", "containers", len(bad)), _quote(bad), _quote(sorted(caps))))
    return None


def _host_namespaces(_meta, spec, _version):
    found = ["%s=true" % key for key in ("hostNetwork", "hostPID", "hostIPC") if spec.get(key) is True]
    return ("host namespaces", ", ".join(found)) if found else None


def _host_path_volumes(_meta, spec, _version):
    names = [v.get("name", "") for v in spec.get("volumes") or [] if isinstance(v, dict) and v.get("hostPath") is not None]
    if names:
        return ("hostPath volumes", "%s %s" % (_plural("volume", "volumes", len(names)), _quote(names)))
    return None


def _host_ports(_meta, spec, _version):
    bad, ports = _offending(spec, lambda c: [str(p.get("hostPort")) for p in c.get("ports") or []
                                             if isinstance(p, dict) and p.get("hostPort")])
    if bad:
        return ("hostPort", "%s %s %s %s %s" % (
            _plural("container", "containers", len(bad)), _quote(bad), _plural("uses", "use", len(bad)),
            _plural("hostPort", "hostPorts", len(ports)), ", ".join(sorted(ports))))
    return None


def _handler_hosts(handler):
    if not isinstance(handler, dict):
        return []
    return [h for h in (_get(handler, "httpGet", "host"), _get(handler, "tcpSocket", "host")) if h]


def _host_probes(_meta, spec, _version):
    def hosts_of(c):
        return ([h for probe in ("livenessProbe", "readinessProbe", "startupProbe") for h in _handler_hosts(c.get(probe))]
                + [h for hook in ("postStart", "preStop") for h in _handler_hosts(_get(c, "lifecycle", hook))])

    names, hosts = _offending(spec, hosts_of)
    bad = sorted(set(names))
    if bad:
        return ("probe or lifecycle host", "%s %s %s %s %s" % (
            _plural("container", "containers", len(bad)), _quote(bad), _plural("uses", "use", len(bad)),
            _plural("probe or lifecycle host", "probe or lifecycle hosts", len(hosts)), _quote(sorted(hosts))))
    return None


def _privileged(_meta, spec, _version):
    bad = [c.get("name", "") for c in _containers(spec) if _get(c, "securityContext", "privileged") is True]
    if bad:
        return ("privileged", "%s %s must not set securityContext.privileged=true"
                % (_plural("container", "containers", len(bad)), _quote(bad)))
    return None


def _proc_mount(_meta, spec, version):
    if version >= (1, 35) and _user_namespace(spec):
        return None
    return _proc_mount_strict(spec)


def _proc_mount_strict(spec):
    bad, kinds = _offending(spec, lambda c: [m for m in [_get(c, "securityContext", "procMount")]
                                             if m is not None and m != "Default"])
    if bad:
        return ("procMount", "%s %s must not set securityContext.procMount to %s"
                % (_plural("container", "containers", len(bad)), _quote(bad), _quote(sorted(kinds))))
    return None


def _selinux(_meta, spec, version):
    allowed = _SELINUX_1_31 if version >= (1, 31) else _SELINUX_1_0
    state = {"types": set(), "user": False, "role": False}

    def valid(opts):
        ok = True
        if (opts.get("type") or "") not in allowed:
            ok = False
            state["types"].add(opts.get("type") or "")
        for field in ("user", "role"):
            if opts.get(field):
                ok = False
                state[field] = True
        return ok

    pod_opts = _get(spec, "securityContext", "seLinuxOptions")
    pod_bad = isinstance(pod_opts, dict) and not valid(pod_opts)
    bad = [c.get("name", "") for c in _containers(spec)
           if isinstance(_get(c, "securityContext", "seLinuxOptions"), dict)
           and not valid(_get(c, "securityContext", "seLinuxOptions"))]
    setters = _setters(pod_bad, bad)
    if not setters:
        return None
    data = []
    if state["types"]:
        data.append("%s %s" % (_plural("type", "types", len(state["types"])), _quote(sorted(state["types"]))))
    if state["user"]:
        data.append("user may not be set")
    if state["role"]:
        data.append("role may not be set")
    return ("seLinuxOptions", "%s set forbidden securityContext.seLinuxOptions: %s"
            % (" and ".join(setters), "; ".join(data)))


def _seccomp_annotation_ok(value):
    return value in ("runtime/default", "docker/default") or str(value).startswith("localhost/")


def _seccomp_baseline(meta, spec, version):
    if version < (1, 19):
        annotations = meta.get("annotations") or {}
        bad = set()
        if _SECCOMP_POD_ANNOTATION in annotations and not _seccomp_annotation_ok(annotations[_SECCOMP_POD_ANNOTATION]):
            bad.add('%s="%s"' % (_SECCOMP_POD_ANNOTATION, annotations[_SECCOMP_POD_ANNOTATION]))
        for c in _containers(spec):
            key = _SECCOMP_CONTAINER_ANNOTATION + c.get("name", "")
            if key in annotations and not _seccomp_annotation_ok(annotations[key]):
                bad.add('%s="%s"' % (key, annotations[key]))
        if bad:
            return ("seccompProfile", "forbidden %s %s"
                    % (_plural("annotation", "annotations", len(bad)), ", ".join(sorted(bad))))
        return None
    return _seccomp_fields(spec, require=False)


def _seccomp_fields(spec, require):
    values = set()
    pod_profile = _get(spec, "securityContext", "seccompProfile")
    pod_bad = pod_set = False
    if pod_profile is not None:
        if (_get(pod_profile, "type") or "") in ("RuntimeDefault", "Localhost"):
            pod_set = True
        else:
            pod_bad = True
            values.add(_get(pod_profile, "type") or "")
    explicit, implicit = [], []
    for c in _containers(spec):
        profile = _get(c, "securityContext", "seccompProfile")
        if profile is not None:
            if (_get(profile, "type") or "") not in ("RuntimeDefault", "Localhost"):
                explicit.append(c.get("name", ""))
                values.add(_get(profile, "type") or "")
        elif not pod_set:
            implicit.append(c.get("name", ""))
    setters = _setters(pod_bad, explicit)
    if setters:
        return ("seccompProfile", "%s must not set securityContext.seccompProfile.type to %s"
                % (" and ".join(setters), _quote(sorted(values))))
    if require and implicit:
        return ("seccompProfile", 'pod or %s %s must set securityContext.seccompProfile.type to "RuntimeDefault" '
                'or "Localhost"' % (_plural("container", "containers", len(implicit)), _quote(implicit)))
    return None


def _sysctls(_meta, spec, version):
    allowed = _SYSCTLS_1_0
    for since, names in (((1, 27), _SYSCTLS_1_27), ((1, 29), _SYSCTLS_1_29), ((1, 32), _SYSCTLS_1_32),
                         ((1, 37), _SYSCTLS_1_37)):
        if version >= since:
            allowed = names
    bad = [s.get("name", "") for s in _get(spec, "securityContext", "sysctls") or []
           if isinstance(s, dict) and s.get("name") not in allowed]
    return ("forbidden sysctls", ", ".join(bad)) if bad else None


def _windows_host_process(_meta, spec, _version):
    bad = [c.get("name", "") for c in _containers(spec)
           if _get(c, "securityContext", "windowsOptions", "hostProcess") is True]
    setters = _setters(_get(spec, "securityContext", "windowsOptions", "hostProcess") is True, bad)
    if setters:
        return ("hostProcess", "%s must not set securityContext.windowsOptions.hostProcess=true" % " and ".join(setters))
    return None


# --- restricted checks ---------------------------------------------------------------------------
def _allow_privilege_escalation(_meta, spec, version):
    if version >= (1, 25) and _windows(spec):
        return None
    bad = [c.get("name", "") for c in _containers(spec)
           if _get(c, "securityContext", "allowPrivilegeEscalation") is not False]
    if bad:
        return ("allowPrivilegeEscalation != false", "%s %s must set securityContext.allowPrivilegeEscalation=false"
                % (_plural("container", "containers", len(bad)), _quote(bad)))
    return None


def _capabilities_restricted(_meta, spec, version):
    if version >= (1, 25) and _windows(spec):
        return None
    missing, adding, caps = [], [], set()
    for c in _containers(spec):
        capabilities = _get(c, "securityContext", "capabilities")
        if capabilities is None:
            missing.append(c.get("name", ""))
            continue
        if "ALL" not in (capabilities.get("drop") or []):
            missing.append(c.get("name", ""))
        extra = [x for x in capabilities.get("add") or [] if x != "NET_BIND_SERVICE"]
        if extra:
            adding.append(c.get("name", ""))
            caps.update(extra)
    details = []
    if missing:
        details.append('%s %s must set securityContext.capabilities.drop=["ALL"]'
                       % (_plural("container", "containers", len(missing)), _quote(missing)))
    if adding:
        details.append("%s %s must not include %s in securityContext.capabilities.add"
                       % (_plural("container", "containers", len(adding)), _quote(adding), _quote(sorted(caps))))
    return ("unrestricted capabilities", "; ".join(details)) if details else None


def _proc_mount_restricted(_meta, spec, _version):
    return _proc_mount_strict(spec)


def _restricted_volumes(_meta, spec, _version):
    bad, kinds = [], set()
    for volume in spec.get("volumes") or []:
        if not isinstance(volume, dict) or any(volume.get(k) is not None for k in _RESTRICTED_VOLUMES_OK):
            continue
        if not [k for k in volume if k != "name"]:
            continue  # no source: the API server defaults it to emptyDir
        bad.append(volume.get("name", ""))
        kinds.add(next((k for k in _RESTRICTED_VOLUME_NAMES if volume.get(k) is not None), "unknown"))
    if bad:
        return ("restricted volume types", "%s %s %s %s %s" % (
            _plural("volume", "volumes", len(bad)), _quote(bad), _plural("uses", "use", len(bad)),
            _plural("restricted volume type", "restricted volume types", len(kinds)), _quote(sorted(kinds))))
    return None


def _run_as_non_root(_meta, spec, version):
    if version >= (1, 35) and _user_namespace(spec):
        return None
    pod_value = _get(spec, "securityContext", "runAsNonRoot")
    pod_bad, pod_ok = pod_value is False, pod_value is True
    explicit, implicit = [], []
    for c in _containers(spec):
        value = _get(c, "securityContext", "runAsNonRoot")
        if value is not None:
            if value is False:
                explicit.append(c.get("name", ""))
        elif not pod_ok:
            implicit.append(c.get("name", ""))
    setters = _setters(pod_bad, explicit)
    if setters:
        return ("runAsNonRoot != true", "%s must not set securityContext.runAsNonRoot=false" % " and ".join(setters))
    if implicit:
        return ("runAsNonRoot != true", "pod or %s %s must set securityContext.runAsNonRoot=true"
                % (_plural("container", "containers", len(implicit)), _quote(implicit)))
    return None


def _run_as_user(_meta, spec, version):
    if version >= (1, 35) and _user_namespace(spec):
        return None
    bad = [c.get("name", "") for c in _containers(spec) if _get(c, "securityContext", "runAsUser") == 0]
    setters = _setters(_get(spec, "securityContext", "runAsUser") == 0, bad)
    if setters:
        return ("runAsUser=0", "%s must not set runAsUser=0" % " and ".join(setters))
    return None


def _seccomp_restricted(_meta, spec, version):
    if version >= (1, 25) and _windows(spec):
        return None
    return _seccomp_fields(spec, require=True)


# (id, level, since, check, ids it replaces at the restricted level).  The ids sort as upstream sorts them, which
# gives the order of the reasons in a message: baseline checks first, then restricted ones.
CHECKS = (
    ("appArmorProfile", "baseline", (1, 0), _apparmor, ()),
    ("capabilities_baseline", "baseline", (1, 0), _capabilities_baseline, ()),
    ("hostNamespaces", "baseline", (1, 0), _host_namespaces, ()),
    ("hostPathVolumes", "baseline", (1, 0), _host_path_volumes, ()),
    ("hostPorts", "baseline", (1, 0), _host_ports, ()),
    ("hostProbesAndHostLifecycle", "baseline", (1, 34), _host_probes, ()),
    ("privileged", "baseline", (1, 0), _privileged, ()),
    ("procMount", "baseline", (1, 0), _proc_mount, ()),
    ("seLinuxOptions", "baseline", (1, 0), _selinux, ()),
    ("seccompProfile_baseline", "baseline", (1, 0), _seccomp_baseline, ()),
    ("sysctls", "baseline", (1, 0), _sysctls, ()),
    ("windowsHostProcess", "baseline", (1, 0), _windows_host_process, ()),
    ("allowPrivilegeEscalation", "restricted", (1, 8), _allow_privilege_escalation, ()),
    ("capabilities_restricted", "restricted", (1, 22), _capabilities_restricted, ("capabilities_baseline",)),
    ("procMount_restricted", "restricted", (1, 35), _proc_mount_restricted, ("procMount",)),
    ("restrictedVolumes", "restricted", (1, 0), _restricted_volumes, ("hostPathVolumes",)),
    ("runAsNonRoot", "restricted", (1, 0), _run_as_non_root, ()),
    ("runAsUser", "restricted", (1, 23), _run_as_user, ()),
    ("seccompProfile_restricted", "restricted", (1, 19), _seccomp_restricted, ("seccompProfile_baseline",)),
)


def evaluate(level, version, metadata, spec):
    """Violations of a pod (``metadata``, ``spec``) at ``level`` and ``version``: ``[(check_id, reason,
    detail)]`` in upstream's order; empty when the pod is allowed (always at ``privileged``).

    :raises PodSecurityError: on an unknown level or version.
    """
    check_level(level)
    at = parse_version(version)
    if level == "privileged":
        return []
    meta = metadata if isinstance(metadata, dict) else {}
    spec = spec if isinstance(spec, dict) else {}
    active = [c for c in CHECKS if at >= c[2] and (c[1] == "baseline" or level == "restricted")]
    replaced = {r for c in active for r in c[4]}
    out = []
    for check_id, _level, _since, check, _replaces in active:
        if check_id in replaced:
            continue
        found = check(meta, spec, at)
        if found:
            out.append((check_id, found[0], found[1]))
    return out


def detail(violations):
    """The violations as upstream joins them: ``reason (detail), reason (detail)``."""
    return ", ".join("%s (%s)" % (reason, text) if text else reason for _id, reason, text in violations)


def level_version(level, version):
    """``baseline:v1.33`` / ``baseline:latest``, as the API server names a policy in its messages."""
    return "%s:%s" % (level, "latest" if version == "latest" else "v%d.%d" % parse_version(version))


def namespace_labels(settings):
    """The namespace labels of a zone's normalised ``pod_security`` settings (``{enforce, audit, warn,
    version}``): every mode with its level and version."""
    labels = {}
    for mode in MODES:
        labels[LABEL_PREFIX + mode] = settings[mode]
        labels[LABEL_PREFIX + mode + "-version"] = settings["version"]
    return labels


def policy_from_labels(labels):
    """``{mode: (level, version)}`` from a namespace's labels, for the modes it sets.  An unset version is
    ``latest``; an invalid level or version makes that mode's level ``restricted`` (upstream's fail-closed
    default for an enforce label it cannot parse)."""
    out = {}
    labels = labels or {}
    for mode in MODES:
        level = labels.get(LABEL_PREFIX + mode)
        if level is None:
            continue
        version = labels.get(LABEL_PREFIX + mode + "-version", "latest")
        try:
            check_level(level)
            parse_version(version)
        except PodSecurityError:
            level, version = "restricted", "latest"
        out[mode] = (level, version)
    return out


def pod_template(obj):
    """``(metadata, spec)`` of the pod an object describes: a Pod itself, or the template of a workload
    (Deployment, DaemonSet, StatefulSet, ReplicaSet, Job, ReplicationController, PodTemplate; CronJob's
    jobTemplate).  None for other kinds."""
    if not isinstance(obj, dict):
        return None
    kind = obj.get("kind")
    if kind == "Pod":
        return obj.get("metadata") or {}, obj.get("spec") or {}
    if kind == "PodTemplate":
        template = obj.get("template") or {}
    elif kind == "CronJob":
        template = _get(obj, "spec", "jobTemplate", "spec", "template") or {}
    elif kind in ("Deployment", "DaemonSet", "StatefulSet", "ReplicaSet", "Job", "ReplicationController"):
        template = _get(obj, "spec", "template") or {}
    else:
        return None
    return template.get("metadata") or {}, template.get("spec") or {}
