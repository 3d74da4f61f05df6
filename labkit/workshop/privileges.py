"""What a learner node is allowed: Docker's ``--privileged`` where this host's root can
grant it, else the same in all but name.

A node runs its own engines (Docker in Docker), so it needs what ``--privileged`` gives:
every capability, no seccomp or AppArmor profile, every device, ``/sys`` and the cgroup
file systems writable. Where root itself lacks a capability (some sandboxes and CI hosts
run root without CAP_SYS_RESOURCE), ``--privileged`` fails at once ("unable to apply
caps"); the node then gets every capability root has, the profiles lifted and every
device allowed (the lab's own container, started by the CLI, ``/proc`` unmasked too), and
its entrypoint makes ``/sys``, ``/proc/sys`` and the cgroups writable itself.

A node also starts as a fresh Debian 12 host does, with IPv4 forwarding off: a new
network namespace copies the host's IPv4 settings, and this host's Docker has turned
forwarding on. The node's own Docker then turns it on and, because it did, sets the
FORWARD chain's policy to DROP, which chapter 7 shows.
"""

from __future__ import annotations

CAPABILITIES = (
    "CHOWN", "DAC_OVERRIDE", "DAC_READ_SEARCH", "FOWNER", "FSETID", "KILL", "SETGID",
    "SETUID", "SETPCAP", "LINUX_IMMUTABLE", "NET_BIND_SERVICE", "NET_BROADCAST", "NET_ADMIN",
    "NET_RAW", "IPC_LOCK", "IPC_OWNER", "SYS_MODULE", "SYS_RAWIO", "SYS_CHROOT", "SYS_PTRACE",
    "SYS_PACCT", "SYS_ADMIN", "SYS_BOOT", "SYS_NICE", "SYS_RESOURCE", "SYS_TIME",
    "SYS_TTY_CONFIG", "MKNOD", "LEASE", "AUDIT_WRITE", "AUDIT_CONTROL", "SETFCAP",
    "MAC_OVERRIDE", "MAC_ADMIN", "SYSLOG", "WAKE_ALARM", "BLOCK_SUSPEND", "AUDIT_READ",
    "PERFMON", "BPF", "CHECKPOINT_RESTORE",
)
"""Linux's capabilities by number (include/uapi/linux/capability.h)."""


def missing_capabilities(status: str = "/proc/self/status",
                         last_cap: str = "/proc/sys/kernel/cap_last_cap") -> list[str]:
    """The capabilities this kernel knows that root here cannot hand on (its bounding set)."""
    with open(status) as lines:
        bounding = next(int(line.split()[1], 16) for line in lines
                        if line.startswith("CapBnd:"))
    with open(last_cap) as text:
        last = min(int(text.read()), len(CAPABILITIES) - 1)
    return [CAPABILITIES[n] for n in range(last + 1) if not bounding >> n & 1]


FRESH_HOST_SYSCTLS = {"net.ipv4.ip_forward": "0"}
"""The node's network settings as a fresh host has them (not copied from this host)."""


def node_privileges(missing: list[str] | None = None) -> dict:
    """Docker host-config keywords that let a node run its own engines, on a network
    namespace set as a fresh host's."""
    missing = missing_capabilities() if missing is None else missing
    if not missing:
        return {"privileged": True, "sysctls": dict(FRESH_HOST_SYSCTLS)}
    return {"cap_add": ["ALL"], "cap_drop": missing,
            "security_opt": ["seccomp=unconfined", "apparmor=unconfined"],
            "device_cgroup_rules": ["a *:* rwm"], "sysctls": dict(FRESH_HOST_SYSCTLS)}


def docker_flags(privileges: dict | None = None) -> list[str]:
    """The same as ``docker run`` flags, for the lab's own container (``./lab up`` of a
    user who is not root): ``--privileged``, or every capability root has and the rest.

    >>> docker_flags({"privileged": True, "sysctls": FRESH_HOST_SYSCTLS})
    ['--privileged', '--sysctl=net.ipv4.ip_forward=0']
    >>> docker_flags(node_privileges(["SYS_RESOURCE"]))[:4]
    ['--cap-add', 'ALL', '--cap-drop', 'SYS_RESOURCE']
    """
    privileges = node_privileges() if privileges is None else privileges
    sysctls = [f"--sysctl={name}={value}"
               for name, value in privileges.get("sysctls", {}).items()]
    if privileges.get("privileged"):
        return ["--privileged", *sysctls]
    flags = ["--cap-add", "ALL"]
    for cap in privileges["cap_drop"]:
        flags += ["--cap-drop", cap]
    # /proc without Docker's masked and read-only paths, as --privileged has it: a user
    # namespace may mount a proc only where the one it sees hides nothing (the pod from
    # scratch with hostUsers: false). The CLI turns this option into empty MaskedPaths and
    # ReadonlyPaths; the engine's API (Docker's SDK, DockerSpawner's nodes) has no word
    # for it, so learner nodes keep those paths masked.
    for option in [*privileges["security_opt"], "systempaths=unconfined"]:
        flags += ["--security-opt", option]
    for rule in privileges["device_cgroup_rules"]:
        flags += ["--device-cgroup-rule", rule]
    return flags + sysctls


if __name__ == "__main__":  # ./lab reads the flags, one per line, with the system's python3
    print("\n".join(docker_flags()))
