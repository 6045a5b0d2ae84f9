"""Persistence across restarts of the stand-in (state dir JSON file)."""

from __future__ import annotations

import json
from pathlib import Path

from kubernetes import client as k8s
from kubernetes import config as k8s_config

from tests.sandbox.kube.helpers import GROUP, PLURAL, VERSION, WIDGET_CRD, Http, start_server, widget


def test_restart_keeps_objects_crds_token_and_resource_versions(tmp_path: Path) -> None:
    """Real: etcd keeps objects and its revision across apiserver restarts: objects, registered CRDs and
    the kubeconfig's credentials survive; new resourceVersions continue above the old ones; a watch from
    an older pre-restart version gets 410 (the watch cache starts empty, like after a compaction), one
    from the last version before the restart continues without a gap."""
    handle = start_server(tmp_path)
    api = k8s_config.new_client_from_config(config_file=str(handle.kubeconfig_path))
    k8s.ApiextensionsV1Api(api).create_custom_resource_definition(WIDGET_CRD)
    before = k8s.CustomObjectsApi(api).create_namespaced_custom_object(
        GROUP, VERSION, "default", PLURAL, widget("keep")
    )
    api.close()
    token = handle.token
    handle.stop()

    handle = start_server(tmp_path)
    try:
        assert handle.token == token
        api = k8s_config.new_client_from_config(config_file=str(handle.kubeconfig_path))
        custom = k8s.CustomObjectsApi(api)
        kept = custom.get_namespaced_custom_object(GROUP, VERSION, "default", PLURAL, "keep")
        assert kept["metadata"]["uid"] == before["metadata"]["uid"]
        new = custom.create_namespaced_custom_object(GROUP, VERSION, "default", PLURAL, widget("new"))
        assert int(new["metadata"]["resourceVersion"]) > int(before["metadata"]["resourceVersion"])
        http = Http(handle)
        last = int(before["metadata"]["resourceVersion"])
        path = f"/apis/{GROUP}/{VERSION}/namespaces/default/{PLURAL}?watch=true&resourceVersion="
        with http.stream(path + str(last - 1)) as resp:
            event = json.loads(next(iter(resp)))
        assert event["type"] == "ERROR" and event["object"]["code"] == 410
        with http.stream(path + str(last)) as resp:
            event = json.loads(next(iter(resp)))
        assert (event["type"], event["object"]["metadata"]["name"]) == ("ADDED", "new")
        api.close()
    finally:
        handle.stop()


def test_state_file_dumps_take_at_most_a_tenth_of_the_loop(tmp_path: Path) -> None:
    """The dump of the whole store blocks the stand-in's loop; the next one waits ten times what the last
    took (at least half a second), so a large store cannot stall every request (lease renewals included)."""
    import asyncio  # noqa: PLC0415

    from sreops.sandbox.kube.resources import GroupResource  # noqa: PLC0415
    from sreops.sandbox.kube.store import Store  # noqa: PLC0415

    path = tmp_path / "state.json"
    gr = GroupResource(GROUP, PLURAL)

    def obj(name: str, rv: str) -> dict[str, object]:
        return {"metadata": {"namespace": "default", "name": name, "resourceVersion": rv}}

    async def main() -> tuple[bool, bool, bool]:
        store = Store(path=path)
        store.save(gr, obj("a", store.next_rv()), None)
        await asyncio.sleep(0.8)
        first = "a" in path.read_text()  # a cheap store is dumped after half a second
        store._last_dump_seconds = 0.2  # as if the last dump had taken 0.2 s: the next waits 2 s
        store.save(gr, obj("b", store.next_rv()), None)
        await asyncio.sleep(1.0)
        held = '"b"' not in path.read_text()
        await asyncio.sleep(1.5)
        written = '"b"' in path.read_text()
        await store.close()
        return first, held, written

    assert asyncio.run(main()) == (True, True, True)
