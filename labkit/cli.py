"""The ``labkit`` command: preflight, images, clean, progress, podman."""

from __future__ import annotations

import argparse
import sys

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
    podman = commands.add_parser(
        "podman", help="run podman on labkit's own store and configuration (not the machine's), "
                       "e.g. `labkit podman pod ps` or `labkit podman load -i FILE`")
    podman.add_argument("arguments", nargs=argparse.REMAINDER, help="podman's own arguments")
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
