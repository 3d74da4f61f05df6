"""The ``labkit`` command: preflight, images, clean, progress, podman, workshop."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from .errors import LabError


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="labkit", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("preflight", help="check the engine, permissions, cgroups and images")
    commands.add_parser("images", help="build and load the lab's offline images")
    clean = commands.add_parser("clean", help="remove every container and cgroup the lab left")
    clean.add_argument("--session", help="only this session's (the 8 hex digits in lk-XXXXXXXX-)")
    progress = commands.add_parser("progress", help="print a learner's exercise progress")
    progress.add_argument("--learner", help="whose (default: LABKIT_LEARNER, else your user name)")
    progress.add_argument("--chapter", help="only this chapter's exercises, e.g. 01")
    progress.add_argument("--json", action="store_true", help="the learner's entries as JSON")
    progress.add_argument("--workshop", action="store_true",
                          help="every learner of the workshop up on this host, as a table")
    podman = commands.add_parser(
        "podman", help="run podman on labkit's own store and configuration (not the machine's), "
                       "e.g. `labkit podman pod ps` or `labkit podman load -i FILE`")
    podman.add_argument("arguments", nargs=argparse.REMAINDER, help="podman's own arguments")
    add_workshop_commands(commands)
    args = parser.parse_args(argv)
    if args.command == "podman":
        return run_lab_podman(args.arguments)
    try:
        if args.command == "preflight":
            from .preflight import run_checks

            checks = run_checks()
            print("\n".join(str(c) for c in checks))
            return 0 if all(c.ok for c in checks) else 1
        if args.command == "images":
            from .runtimes.docker import DockerRuntime
            from .session import Session

            print(f"loaded {DockerRuntime(Session()).toolbox()}")
            return 0
        if args.command == "workshop" or (args.command == "progress" and args.workshop):
            return run_workshop(args)
        if args.command == "progress":
            from .exercises.report import progress_json, progress_text

            print(progress_json(args.learner) if args.json
                  else progress_text(args.learner, args.chapter))
            return 0
        from .cleanup import clean as clean_all
        from .runtimes.docker import connect

        try:
            client = connect()
        except LabError as error:
            print(f"(containers not checked: {error})", file=sys.stderr)
            client = None
        report = clean_all(args.session, client)
        if client is not None:
            client.close()
        print(report)
        return 0
    except LabError as error:
        print(f"labkit: {error}", file=sys.stderr)
        return 1


def add_workshop_commands(commands) -> None:
    workshop = commands.add_parser(
        "workshop", help="a JupyterHub on this host with a learner node for each learner "
                         "(sudo ./lab workshop installs what it needs first)")
    verbs = workshop.add_subparsers(dest="verb", required=True)
    up = verbs.add_parser("up", help="start the hub (127.0.0.1 unless --ip)")
    up.add_argument("--learners", type=int, help="how many learners to make room for")
    up.add_argument("--names", help="a file of learners' names, one a line: only they log in")
    up.add_argument("--code", help="the workshop code learners log in with (default: made up)")
    up.add_argument("--ip", default="127.0.0.1",
                    help="the address the hub listens on (default 127.0.0.1: this host only)")
    up.add_argument("--port", type=int, default=8000, help="the hub's port (default 8000)")
    up.add_argument("--cpus", default="1", help="CPUs a learner node may use (default 1)")
    up.add_argument("--memory", default="2G", help="memory a learner node may use (default 2G)")
    up.add_argument("--idle-minutes", type=int, default=60,
                    help="stop a node nobody used for this long (default 60; its work stays)")
    up.add_argument("--warm", type=int, default=0,
                    help="keep this many nodes started for the next logins (default 0; they "
                         "count against the seats)")
    up.add_argument("--work-size", default="1G",
                    help="how much each learner's work may hold (default 1G)")
    up.add_argument("--lti", metavar="FILE",
                    help="learners enter from a course (LTI 1.3): the platform's issuer, "
                         "client_id, authorize_url, jwks_endpoint and deployment_id, in YAML "
                         "(docs/workshop.md)")
    up.add_argument("--proxy", default="configurable-http-proxy",
                    help="the configurable-http-proxy program")
    verbs.add_parser("down", help="stop the hub; remove every node, volume and network of it")
    verbs.add_parser("status", help="where the class logs in, and each learner's node")
    reset = verbs.add_parser("reset", help="give one learner a fresh node (work kept)")
    reset.add_argument("learner")
    table = verbs.add_parser("progress", help="every learner's exercises, as a table")
    table.add_argument("--json", action="store_true", help="the rows as JSON")
    grades = verbs.add_parser("grades", help="every learner's exercises, a CSV row each "
                                             "(docs/workshop.md)")
    grades.add_argument("--output", metavar="FILE", help="write the CSV there (default: stdout)")
    grades.add_argument("--to-course", action="store_true",
                        help="send each learner's exercises passed to the course's grade "
                             "column instead (a workshop up with --lti and a token_url)")


def run_workshop(args) -> int:
    import json

    from .workshop import hub
    from .workshop.progress import class_rows, class_text

    verb = getattr(args, "verb", "progress")
    if verb == "up":
        names = []
        if args.names:
            try:
                with open(args.names) as lines:
                    names = [line.strip() for line in lines if line.strip()]
            except OSError as error:
                raise LabError(f"The list of names {args.names} cannot be read "
                               f"({error.strerror}): give a file with one name a line.") from None
        platform = None
        if args.lti:
            from .workshop.lti import load_platform

            platform = load_platform(args.lti)
        workshop = hub.up(args.learners, names, ip=args.ip, port=args.port, cpus=args.cpus,
                          memory=args.memory, idle_minutes=args.idle_minutes, code=args.code,
                          proxy=args.proxy, warm=args.warm, lti=platform,
                          work_size=args.work_size)
        print(f"The workshop is up at {workshop.url}")
        if workshop.lti:
            from .workshop.lti import tool_urls

            print(f"  learners enter from the course ({workshop.lti['issuer']}, LTI 1.3); "
                  "a launch with a teaching role opens the class board\n"
                  "  register the tool on the platform with:")
            for what, url in tool_urls(workshop.url).items():
                print(f"    {what}: {url}")
        else:
            print(f"  learners log in with any name{' on the list' if names else ''} "
                  f"and the code: {workshop.code}\n"
                  f"  the instructor logs in as 'instructor' with: {workshop.admin_code}")
        print(f"  room for {workshop.seats} learner(s); ./lab workshop status, progress, "
              "reset NAME, down")
        return 0
    if verb == "down":
        print(hub.down())
        return 0
    if verb == "status":
        print(hub.status())
        return 0
    if verb == "reset":
        print(hub.reset(args.learner))
        return 0
    if verb == "grades":
        from .workshop.progress import grade_rows, grades_csv

        if args.to_course:
            from .workshop.lti_scores import send_scores

            print(send_scores(hub.current(), class_rows(class_files())))
            return 0
        write_grades(grades_csv(grade_rows(class_files())), args.output)
        return 0
    rows = class_rows(class_files())
    print(json.dumps(rows, indent=1) if args.json else class_text(rows))
    return 0


def class_files() -> dict[str, Path]:
    """learner -> their progress file, for the workshop up on this host."""
    from .workshop import hub
    from .workshop.progress import progress_files

    workshop = hub.current()
    client = connect_engine()
    try:
        return progress_files(client, workshop)
    finally:
        client.close()


def write_grades(text: str, output: str | None) -> None:
    """The CSV to stdout, or to ``output``, in UTF-8 either way."""
    if output is None:
        sys.stdout.flush()
        sys.stdout.buffer.write(text.encode("utf-8"))
        sys.stdout.buffer.flush()
        return
    try:
        with open(output, "w", encoding="utf-8", newline="") as out:
            out.write(text)
    except OSError as error:
        raise LabError(f"cannot write {output}: {error.strerror or error}: give a writable "
                       "path.") from None


def connect_engine():
    from .runtimes.docker import connect

    return connect()


def run_lab_podman(arguments: list[str]) -> int:
    """podman, as labkit runs it: the lab's containers.conf, storage and registries."""
    import os
    import shutil
    import subprocess

    from .runtimes.podman.service import RUN_BASE, podman_command, podman_environment

    if shutil.which("podman") is None:
        print("labkit: podman is not installed: run `sudo ./lab setup` (it installs Debian's "
              "podman).", file=sys.stderr)
        return 1
    if not os.path.isfile(os.path.join(RUN_BASE, "containers.conf")):
        print("labkit: labkit's podman has not been set up on this machine yet: run chapter 5's "
              "first cell (or any lab.podman_pod), then try again.", file=sys.stderr)
        return 1
    return subprocess.run(podman_command(*arguments), env=podman_environment()).returncode


if __name__ == "__main__":
    sys.exit(main())
