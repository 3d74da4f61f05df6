"""host-local's directories that a late CNI DEL opens again after labkit removed a
session's network (a lock file, no lease) go at the next clean-up; a network in use, or a
directory holding a lease, stays."""

from __future__ import annotations

from labkit.runtimes.podman import service


def test_only_ghosts_go(tmp_path, monkeypatch):
    monkeypatch.setattr(service, "IPAM", str(tmp_path / "ipam"))
    monkeypatch.setattr(service, "NETWORKS", str(tmp_path / "networks"))
    (tmp_path / "networks").mkdir()
    for session, files in {"ghost": ["lock"], "leased": ["lock", "10.235.7.2"],
                           "in-use": ["lock"]}.items():
        store = tmp_path / "ipam" / f"lk-{session}-pods" / f"lk-{session}-pods"
        store.mkdir(parents=True)
        for name in files:
            (store / name).touch()
    (tmp_path / "networks" / "lk-in-use-pods.conflist").touch()
    service.remove_lease_ghosts()
    assert sorted(p.name for p in (tmp_path / "ipam").iterdir()) == [
        "lk-in-use-pods", "lk-leased-pods"]
