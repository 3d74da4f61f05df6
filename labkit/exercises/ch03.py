"""Chapter 3 exercises: a Pod emulated with Docker, checked from the kernel.

A pod here is containers named ``<pod>-sandbox``, ``<pod>-app`` and ``<pod>-sidecar``,
as ``lab.docker_pod(name="<pod>", ...)`` names them (with its session prefix) and as a
learner names them by hand with ``docker run --name``; ``pods.docker_members`` finds
them. Each exercise is its check, decorated with its data; the reference and wrong
solutions are just above it.

A check is not judged (no try counted, no hint unlocked) while nothing of the learner's is
there yet, so running every cell of the chapter spends nothing; its sentence names the cell
that makes what is missing. A terminal command in a task or a hint runs as typed in a root
terminal at that point of the chapter (``{name:foo-app}`` is written as this session's
engine name).
"""

from __future__ import annotations

import posixpath

from ..model import NAMESPACE_TYPES
from ..quantity import format_bytes
from .core import (
    Wrong,
    exercise,
    failed,
    namespace_inode,
    namespace_types,
    one_of,
    passed,
    unjudged,
)
from .machine import parent_of, running_pid
from .pods import FOO_POD, docker_members, docker_namespaces, pod_names

MIB = 2**20


def setup_foo_pod(lab):
    """The chapter's pod, from its manifest (notebooks/manifests/foo-pod.yaml)."""
    lab.docker_pod(FOO_POD, quiet=True)


def member_pid(lab, name: str) -> int:
    """docker inspect -f '{{.State.Pid}}' <name> (a container this lab made)."""
    return lab.docker.client.api.inspect_container(lab.session.name(name))["State"]["Pid"]


NO_FOO_POD = ("There is no running pod foo yet (containers foo-sandbox, foo-app, foo-sidecar): "
              "run the cell under \"The pod\" (pod = lab.docker_pod(manifest)), then check.")

# The host PID of one of pod foo's members, as a root terminal gets it.
PID = "$(docker inspect -f '{{{{.State.Pid}}}}' {{name:foo-{member}}})"


def pid_of(member: str) -> str:
    """``$(docker inspect -f '{{.State.Pid}}' {name:foo-app})``: a member's host PID, typed."""
    return PID.format(member=member)


# -- predict: which namespaces does the sidecar share with the sandbox? ---------------------

def shared_namespaces_solution(lab):
    sandbox = lab.node.namespaces(member_pid(lab, "foo-sandbox"))
    sidecar = lab.node.namespaces(member_pid(lab, "foo-sidecar"))
    host = lab.node.host_namespaces
    return [ns for ns in sidecar if sidecar[ns] == sandbox[ns] != host[ns]]


@exercise(
    "03.shared-namespaces", kind="predict",
    title="What the sidecar shares with the sandbox",
    task="Before you look at the sharing matrix: which namespaces does pod foo's sidecar "
         "share with the sandbox, the pod's own ones (not those it shares with the host)? "
         "Pick every one.",
    hints=("What to look at: a namespace the sidecar shares with the sandbox is one and the "
           "same object, so both processes have the same link for it in /proc/<PID>/ns (the "
           "same inode), and the host's link is another.",
           "Where: in a root terminal, "
           f"`ls -l /proc/{pid_of('sidecar')}/ns` and `ls -l /proc/{pid_of('sandbox')}/ns` "
           "list the sidecar's and the sandbox's links, and `ls -l /proc/self/ns` the host's.",
           "How: go through the types one by one and keep those whose link is the same for "
           "the sidecar and the sandbox and different for the host. A name that matches "
           "proves nothing: only the link does."),
    form=namespace_types, options=NAMESPACE_TYPES, multiple=True, example="time",
    setup=setup_foo_pod, solution=shared_namespaces_solution,
    wrong=(Wrong(lambda lab: ["net", "ipc", "uts"], "Docker copies the hostname"),
           Wrong(lambda lab: ["net", "ipc", "pid"], "sidecar's pid namespace")),
    untouched="There is no running pod foo yet",
    reads="/proc/<pid>/ns/* of foo-sandbox and foo-sidecar, and the host's",
)
def shared_namespaces(machine, picked):
    found, _missing = docker_namespaces(machine, "foo", ("sandbox", "sidecar"))
    if found is None:
        return unjudged(NO_FOO_POD)
    sandbox, sidecar = found["sandbox"], found["sidecar"]
    host = machine.host_namespaces
    shared = {ns for ns in NAMESPACE_TYPES
              if ns in sidecar and sidecar[ns] == sandbox.get(ns) != host.get(ns)}
    for ns in NAMESPACE_TYPES:  # first what is picked but wrong, then what is missing
        if ns in picked and ns not in shared:
            if sidecar.get(ns) == host.get(ns):
                return failed(f"The sidecar is in the host's {ns} namespace ({sidecar.get(ns)}"
                              "), not in one the sandbox holds for the pod.")
            copied = " (Docker copies the hostname, not the namespace)" if ns == "uts" else ""
            return failed(f"The sidecar's {ns} namespace ({sidecar.get(ns)}) is not the "
                          f"sandbox's ({sandbox.get(ns)}){copied}.")
    for ns in NAMESPACE_TYPES:
        if ns in shared and ns not in picked:
            return failed(f"The sidecar's {ns} namespace is the sandbox's ({sidecar[ns]}): "
                          "it shares that one too.")
    return passed(f"Right: the kernel shows the sidecar in the sandbox's "
                  f"{', '.join(sorted(shared))} namespaces, and in its own or the host's for "
                  "the rest.")


# -- predict: does the sidecar survive its sandbox? -------------------------------------------

KEEPS, KILLED = "it keeps running", "it is killed with the sandbox"


def sandbox_dies_solution(lab):
    sandbox = lab.node.namespaces(member_pid(lab, "foo-sandbox"))["pid"]
    sidecar = lab.node.namespaces(member_pid(lab, "foo-sidecar"))["pid"]
    return KILLED if sidecar == sandbox != lab.node.host_namespaces["pid"] else KEEPS


@exercise(
    "03.sandbox-dies", kind="predict",
    title="When the sandbox dies",
    task="If pod foo's sandbox container is killed, what happens to its sidecar?",
    hints=("What to think about: of the namespaces the sandbox's process holds, which kind "
           "can take other processes down when that one process dies?",
           "Where: when the first process (the init) of a PID namespace dies, the kernel "
           "kills every other process in that namespace. Is foo's sidecar in the sandbox's? "
           f"`readlink /proc/{pid_of('sidecar')}/ns/pid /proc/{pid_of('sandbox')}/ns/pid` "
           "prints both links.",
           "How: the same link means one PID namespace, whose init is the sandbox's process; "
           "two different links mean two namespaces, each with its own init."),
    form=one_of((KEEPS, KILLED)), options=(KEEPS, KILLED), example=KILLED,
    setup=setup_foo_pod, solution=sandbox_dies_solution,
    wrong=(Wrong(lambda lab: KILLED, "own PID namespace"),),
    untouched="There is no running pod foo yet",
    reads="the PID namespaces of foo-sandbox and foo-sidecar while both run; once the "
          "sandbox does not run, the sidecar's state from Docker",
)
def sandbox_dies(machine, answer):
    found = machine.group(pod_names("foo"))
    sidecar, sandbox = found.get("foo-sidecar"), found.get("foo-sandbox")
    if sidecar is None:
        return unjudged(NO_FOO_POD)
    sidecar_pid = running_pid(sidecar)
    sandbox_pid = running_pid(sandbox) if sandbox else None
    if sandbox_pid is not None:
        if sidecar_pid is None:
            return unjudged("foo-sidecar is not running while its sandbox runs: make the pod "
                            "foo again, then check.")
        theirs = machine.namespaces(sidecar_pid)["pid"]
        ours = machine.namespaces(sandbox_pid)["pid"]
        if theirs == ours != machine.host_namespaces["pid"]:
            truth, why = KILLED, (f"the sidecar is in the sandbox's PID namespace ({ours}), "
                                  "whose init process dies with the sandbox")
        else:
            truth, why = KEEPS, (f"the sidecar is in its own PID namespace ({theirs}; the "
                                 f"sandbox's is {ours}), so the sandbox's death does not "
                                 "reach its processes")
    elif sidecar_pid is not None:
        truth, why = KEEPS, "the sandbox does not run and Docker says the sidecar still runs"
    else:
        state = sidecar["State"]
        truth, why = KILLED, (f"the sandbox does not run and the sidecar is "
                              f"{state.get('Status')} "
                              f"(exit code {state.get('ExitCode')})")
    if answer == truth:
        return passed(f"Right: {truth}, as {why}.")
    return failed(f"Not for this pod: {why}.")


# -- find: the pod's network namespace -------------------------------------------------------

def net_inode_solution(lab):
    return lab.node.namespaces(member_pid(lab, "foo-sandbox"))["net"]  # readlink .../ns/net


def _host_net(lab):
    return lab.node.host_namespaces["net"]  # readlink /proc/self/ns/net, on the host


def _app_uts(lab):
    return lab.node.namespaces(member_pid(lab, "foo-app"))["uts"]


@exercise(
    "03.net-inode", kind="find",
    title="The pod's network namespace",
    task="Type the inode of pod foo's network namespace (the number in `net:[…]`).",
    hints=("What to look for: the pod's network namespace is the one its sandbox holds, and "
           "every member of the pod is in it; the kernel names it by an inode number.",
           "Where: the link /proc/<PID>/ns/net of any member names it. In a root terminal "
           "`docker inspect -f '{{.State.Pid}}' {name:foo-sandbox}` prints the sandbox's "
           "host PID.",
           "How: readlink prints where a link points: give it /proc/, that PID and /ns/net. "
           "The number between the brackets of what it prints is the inode."),
    form=namespace_inode(4026532201), example=4026532201,
    setup=setup_foo_pod, solution=net_inode_solution,
    wrong=(Wrong(_host_net, "the host's net namespace"),
           Wrong(_app_uts, "uts namespace, not its network one")),
    untouched="There is no running pod foo yet",
    reads="/proc/<pid>/ns/* of foo's members, and the host's",
)
def net_inode(machine, inode):
    members, _missing = docker_members(machine, "foo", ())
    running = {role: pid for role, (_d, pid) in (members or {}).items() if pid}
    if not running:
        return unjudged(NO_FOO_POD)
    namespaces = {role: machine.namespaces(pid) for role, pid in running.items()}
    first = next(iter(namespaces))
    net = namespaces[first]["net"]
    if inode == net:
        return passed(f"Right: {inode} is pod foo's network namespace; "
                      f"{' and '.join(f'foo-{r}' for r in namespaces)} all have net:[{inode}].")
    host = machine.host_namespaces
    for ns in NAMESPACE_TYPES:
        if host.get(ns) == inode:
            return failed(f"{inode} is the host's {ns} namespace: pod foo has a network "
                          "namespace of its own.")
    for role, theirs in namespaces.items():
        for ns in NAMESPACE_TYPES:
            if theirs.get(ns) == inode:
                return failed(f"{inode} is foo-{role}'s {ns} namespace, not its network one.")
    return failed(f"No container of pod foo is in a namespace with inode {inode}: read "
                  "/proc/<pid>/ns/net of one of them.")


# -- do: the sidecar sees the app's processes ------------------------------------------------

def nothing_yet(machine, pod: str, exercise: str):
    """Not judged while none of pod ``pod``'s containers exists: the sentence names the cell
    that makes them."""
    if machine.group(pod_names(pod)):
        return None
    return unjudged(f"There is no container named {pod}-app yet: make the pod {pod} in the "
                    f"empty cell under exercise {exercise} (\"your code for exercise "
                    f"{exercise} here\"), then check.")


def shared_pid_solution(lab):
    lab.docker_pod(name="shared", share_process_namespace=True, quiet=True, containers={
        "app": {"image": "busybox", "command": "sleep 3650d"},
        "sidecar": {"image": "busybox", "command": "sleep 3650d"}})


def _shared_default(lab):
    lab.docker_pod(name="shared", quiet=True, containers={
        "app": {"image": "busybox", "command": "sleep 3650d"},
        "sidecar": {"image": "busybox", "command": "sleep 3650d"}})


def _shared_host(lab):
    lab.docker_pod(name="shared", host_pid=True, quiet=True, containers={
        "app": {"image": "busybox", "command": "sleep 3650d"},
        "sidecar": {"image": "busybox", "command": "sleep 3650d"}})


@exercise(
    "03.shared-pid", kind="do",
    title="A sidecar that sees the app's processes",
    task="Make a pod named `shared` whose sidecar sees the app's processes, as with "
         "shareProcessNamespace: true: a sandbox `{name:shared-sandbox}` and the containers "
         "`{name:shared-app}` and `{name:shared-sidecar}` joining it, as "
         "lab.docker_pod(name=\"shared\", ...) names them. By hand with docker run, give "
         "them these names and the labels io.labkit.owner=labkit and "
         "io.labkit.session={session}, so that the lab's cleanup removes them too.",
    hints=("What to reach: a process sees the processes of its own PID namespace (and of "
           "those nested in it), so shared-sidecar must be in shared-app's PID namespace: one "
           "the pod holds, not the node's.",
           "Where to compare: pod foo's app and sidecar each have a PID namespace of their own; "
           f"`readlink /proc/{pid_of('app')}/ns/pid /proc/{pid_of('sidecar')}/ns/pid` prints "
           "two different links. The Pod field that changes this is shareProcessNamespace.",
           "How: lab.docker_pod takes a keyword for each of the Pod's flags (the chapter's "
           "table of host flags used them). By hand, docker run's --pid takes the same "
           "container: form as the --network of pod foo's commands."),
    setup=setup_foo_pod,
    names=pod_names("shared"), pods=("shared",), solution=shared_pid_solution,
    wrong=(Wrong(_shared_default, "different PID namespaces"),
           Wrong(_shared_host, "host's PID namespace")),
    untouched="There is no container named shared-app yet",
    reads="/proc/<pid>/ns/pid and ns/net of shared-app and shared-sidecar, and the host's",
)
def shared_pid(machine, _answer):
    untouched = nothing_yet(machine, "shared", "2")
    if untouched:
        return untouched
    found, missing = docker_namespaces(machine, "shared", ("app", "sidecar"))
    if found is None:
        return failed(missing)
    app, sidecar = found["app"], found["sidecar"]
    if app["net"] != sidecar["net"]:
        return failed(f"shared-app and shared-sidecar are in different network namespaces "
                      f"({app['net']}, {sidecar['net']}): a pod's containers join the "
                      "sandbox's.")
    if app["pid"] != sidecar["pid"]:
        return failed(f"shared-app and shared-sidecar are in different PID namespaces "
                      f"({app['pid']}, {sidecar['pid']}): the sidecar must join the "
                      "sandbox's PID namespace.")
    if app["pid"] == machine.host_namespaces.get("pid"):
        return failed(f"shared-app and shared-sidecar are both in the host's PID namespace "
                      f"({app['pid']}): share the sandbox's (shareProcessNamespace), not the "
                      "node's (hostPID).")
    return passed(f"shared-sidecar sees shared-app's processes: both are in PID namespace "
                  f"{app['pid']}, the pod's own, as their /proc/<pid>/ns/pid links say.")


# -- do: a memory limit for the pod's cgroup -----------------------------------------------

POD_LIMIT = 192 * MIB


def limited_solution(lab):
    # The pod cgroup's limit is the sum of the containers' limits: 128Mi + 64Mi.
    lab.docker_pod(name="limited", quiet=True, containers={
        "app": {"image": "busybox", "command": "sleep 3650d", "memory": "128Mi"},
        "sidecar": {"image": "busybox", "command": "sleep 3650d", "memory": "64Mi"}})


def _limited_256(lab):
    lab.docker_pod(name="limited", quiet=True, containers={
        "app": {"image": "busybox", "command": "sleep 3650d", "memory": "128Mi"},
        "sidecar": {"image": "busybox", "command": "sleep 3650d", "memory": "128Mi"}})


def _limited_no_parent(lab):
    """The sandbox and joiners, but no parent cgroup: each container only has its own limit."""
    sandbox = lab.run("limited-sandbox", "busybox", "sleep 3650d", ipc_mode="shareable",
                      quiet=True)
    join = f"container:{sandbox.id}"
    for name, memory in (("limited-app", "128Mi"), ("limited-sidecar", "64Mi")):
        lab.run(name, "busybox", "sleep 3650d", memory=memory, network_mode=join,
                ipc_mode=join, quiet=True)


@exercise(
    "03.pod-memory-192mi", kind="do",
    title="A pod cgroup limited to 192 MiB",
    task="Make a pod named `limited` whose cgroup allows it 192 MiB of memory: one parent "
         "cgroup holding all of the pod's containers, limited to 192 MiB. Its containers: a "
         "sandbox `{name:limited-sandbox}` and `{name:limited-app}` and "
         "`{name:limited-sidecar}` joining it, as lab.docker_pod(name=\"limited\", ...) names "
         "them. By hand, give them these names and the labels io.labkit.owner=labkit and "
         "io.labkit.session={session}, and name the parent cgroup {name:limited}, so that the "
         "lab's cleanup removes them too.",
    hints=("What to reach: the pod's limit is the memory limit of the one parent cgroup that "
           "the pod's containers sit under; each container has a cgroup of its own below it, "
           "with its own limit.",
           "Where to look, for pod foo (cgroup v1 with Docker's cgroupfs driver, as this "
           f"chapter's commands showed): `cat /proc/{pid_of('app')}/cgroup` names the app's "
           "cgroups, and `cat /sys/fs/cgroup/memory/{name:foo}/memory.limit_in_bytes` is the "
           "limit of their parent.",
           "How: lab.docker_pod gives the parent what a kubelet gives a Pod without pod-level "
           "resources: the sum of the containers' memory limits when every container has one. "
           "By hand, make the parent "
           "cgroup and write its limit in bytes before any container starts under it "
           "(--cgroup-parent), as the first lines of pod foo's commands do."),
    setup=setup_foo_pod,
    names=pod_names("limited"), pods=("limited",), solution=limited_solution,
    wrong=(Wrong(_limited_256, "not 192 MiB"), Wrong(_limited_no_parent, "has no memory limit")),
    untouched="There is no container named limited-app yet",
    reads="/proc/<pid>/cgroup of limited-app and limited-sidecar, and their parent cgroup's "
          "memory.limit_in_bytes (v1) or memory.max (v2)",
)
def pod_memory(machine, _answer):
    untouched = nothing_yet(machine, "limited", "3")
    if untouched:
        return untouched
    members, missing = docker_members(machine, "limited", ("app", "sidecar"))
    if members is None:
        return failed(missing)
    hierarchy = machine.memory_hierarchy
    app = machine.cgroups(members["app"][1])
    sidecar = machine.cgroups(members["sidecar"][1])
    parents = [posixpath.dirname(c.get(hierarchy, "/")) for c in (app, sidecar)]
    if parents[0] != parents[1]:
        return failed(f"limited-app and limited-sidecar are under different parent cgroups "
                      f"({parents[0]}, {parents[1]}): a pod's containers share one.")
    parent, file = parents[0], machine.memory_limit_file
    limit = machine.state(parent_of(app)).limits.memory_bytes
    if limit is None:
        return failed(f"Their parent cgroup {parent} has no memory limit ({file} is "
                      "unlimited): put both under a parent cgroup of the pod's, limited to "
                      "192 MiB.")
    if limit != POD_LIMIT:
        return failed(f"The pod's parent cgroup {parent} allows {format_bytes(limit)} ({file} "
                      f"= {limit}), not 192 MiB.")
    return passed(f"limited-app and limited-sidecar both sit under {parent}, whose {file} is "
                  f"{limit} (192 MiB): the kernel caps the whole pod there.")
