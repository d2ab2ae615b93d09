"""Writes the HAND-BUILT Azure Compute and GCP Compute cassettes (no cloud account was used).

Every response body follows the shape of the providers' published REST reference examples
(learn.microsoft.com/rest/api/compute: VirtualMachines_Get, Disks_Get, Snapshots_CreateOrUpdate,
Snapshots_Delete, Snapshots_Get; cloud.google.com/compute/docs/reference/rest/v1: instances.get,
disks.get, snapshots.insert/get/delete, globalOperations.wait), cut down to the fields the
adapters read, with placeholder ids. Run `python tests/cassettes/build_cassettes.py` to rewrite
them; record real ones with CASSETTE_RECORD=1 (see README.md).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

HERE = Path(__file__).parent
SNAP_SUFFIX = "20261126t041953"

SUB, RG, LOCATION = "00000000-0000-0000-0000-000000000000", "pg-rg", "westeurope"
RID = f"/subscriptions/{SUB}/resourceGroups/{RG}/providers/Microsoft.Compute"  # resource ids
ARM = f"https://management.azure.com{RID}"
ASYNC = f"https://management.azure.com/subscriptions/{SUB}/providers/Microsoft.Compute/locations/{LOCATION}/DiskOperations"
PROJECT, ZONE = "my-project", "europe-west1-b"
GCE = f"https://compute.googleapis.com/compute/v1/projects/{PROJECT}"
LINK = f"https://www.googleapis.com/compute/v1/projects/{PROJECT}"


def ia(method: str, uri: str, status: int, body: Any = None, headers: dict[str, str] | None = None) -> dict[str, Any]:
    text = "" if body is None else json.dumps(body)
    reasons = {200: "OK", 201: "Created", 202: "Accepted", 204: "No Content", 404: "Not Found"}
    hdrs = {"Content-Type": ["application/json; charset=utf-8"]} if body is not None else {}
    hdrs.update({k: [v] for k, v in (headers or {}).items()})
    return {
        "request": {"body": None, "headers": {}, "method": method, "uri": uri},
        "response": {"status": {"code": status, "message": reasons[status]}, "headers": hdrs, "body": {"string": text}},
    }


def write(module: str, name: str, interactions: list[dict[str, Any]]) -> None:
    path = HERE / module / f"{name}.yaml"
    path.parent.mkdir(exist_ok=True)
    path.write_text(yaml.safe_dump({"interactions": interactions, "version": 1}, sort_keys=False))


# -- Azure -------------------------------------------------------------------------------------
def az_vm(name: str = "pg-vm") -> dict[str, Any]:
    def data_disk(lun: int, disk: str) -> dict[str, Any]:
        return {"lun": lun, "name": disk, "createOption": "Attach", "caching": "None",
                "managedDisk": {"id": f"{RID}/disks/{disk}", "storageAccountType": "Premium_LRS"}}

    return {
        "name": name, "id": f"{RID}/virtualMachines/{name}", "type": "Microsoft.Compute/virtualMachines",
        "location": LOCATION,
        "properties": {
            "vmId": "11111111-2222-3333-4444-555555555555",
            "hardwareProfile": {"vmSize": "Standard_D2s_v3"},
            "storageProfile": {
                "osDisk": {"osType": "Linux", "name": f"{name}_OsDisk_1", "createOption": "FromImage",
                           "managedDisk": {"id": f"{RID}/disks/{name}_OsDisk_1"}},
                "dataDisks": [data_disk(0, "pgdata"), data_disk(1, "pgwal")],
            },
            "provisioningState": "Succeeded",
        },
    }


def az_missing(kind: str, name: str) -> dict[str, Any]:
    return {"error": {"code": "ResourceNotFound", "message": f"The Resource 'Microsoft.Compute/{kind}/{name}' "
                      f"under resource group '{RG}' was not found."}}


def az_disk(name: str) -> dict[str, Any]:
    return {"name": name, "id": f"{RID}/disks/{name}", "type": "Microsoft.Compute/disks", "location": LOCATION,
            "sku": {"name": "Premium_LRS"},
            "properties": {"creationData": {"createOption": "Empty"}, "diskSizeGB": 64,
                           "provisioningState": "Succeeded", "diskState": "Attached"}}


def az_snapshot(name: str, state: str) -> dict[str, Any]:
    disk = name.rsplit("-", 1)[0]
    return {"name": name, "id": f"{RID}/snapshots/{name}", "type": "Microsoft.Compute/snapshots", "location": LOCATION,
            "properties": {"creationData": {"createOption": "Copy", "sourceResourceId": f"{RID}/disks/{disk}"},
                           "incremental": True, "diskSizeGB": 64, "provisioningState": state}}


def az_take(disk: str, op: str) -> list[dict[str, Any]]:
    name = f"{disk}-{SNAP_SUFFIX}"
    return [
        ia("GET", f"{ARM}/disks/{disk}?api-version=2025-01-02", 200, az_disk(disk)),
        ia("PUT", f"{ARM}/snapshots/{name}?api-version=2025-01-02", 202, az_snapshot(name, "Creating"),
           {"Azure-AsyncOperation": f"{ASYNC}/{op}?p=x&api-version=2025-01-02", "Retry-After": "0"}),
        ia("GET", f"{ASYNC}/{op}?p=x&api-version=2025-01-02", 200,
           {"name": op, "status": "Succeeded", "startTime": "2026-11-26T04:19:54Z", "endTime": "2026-11-26T04:20:04Z"}),
        ia("GET", f"{ARM}/snapshots/{name}?api-version=2025-01-02", 200, az_snapshot(name, "Succeeded")),
    ]


def az_delete(disk: str, op: str) -> list[dict[str, Any]]:
    name = f"{disk}-{SNAP_SUFFIX}"
    return [
        ia("DELETE", f"{ARM}/snapshots/{name}?api-version=2025-01-02", 202, None,
           {"Azure-AsyncOperation": f"{ASYNC}/{op}?p=x&api-version=2025-01-02",
            "Location": f"{ASYNC}/{op}?p=x&monitor=true&api-version=2025-01-02", "Retry-After": "0"}),
        ia("GET", f"{ASYNC}/{op}?p=x&api-version=2025-01-02", 200, {"name": op, "status": "Succeeded"}),
    ]


def az_get_snapshot(disk: str, found: bool) -> dict[str, Any]:
    name = f"{disk}-{SNAP_SUFFIX}"
    uri = f"{ARM}/snapshots/{name}?api-version=2025-01-02"
    return ia("GET", uri, 200, az_snapshot(name, "Succeeded")) if found else ia("GET", uri, 404, az_missing("snapshots", name))


def azure() -> None:
    vm = ia("GET", f"{ARM}/virtualMachines/pg-vm?api-version=2025-04-01", 200, az_vm())
    missing = ia("GET", f"{ARM}/virtualMachines/no-such-instance?api-version=2025-04-01", 404,
                 az_missing("virtualMachines", "no-such-instance"))
    cls = "TestAzureComputeSnapshotProvider"
    write("test_snapshot_azure", f"{cls}.test_instance_exists", [vm, missing])
    write("test_snapshot_azure", f"{cls}.test_a_missing_instance_is_a_one_line_provider_error", [missing])
    write("test_snapshot_azure", f"{cls}.test_attached_disks_in_order_with_their_devices", [
        vm, ia("GET", f"{ARM}/disks/pgdata?api-version=2025-01-02", 200, az_disk("pgdata")),
        ia("GET", f"{ARM}/disks/pgwal?api-version=2025-01-02", 200, az_disk("pgwal"))])
    write("test_snapshot_azure", f"{cls}.test_take_then_delete_snapshots", [
        vm, *az_take("pgdata", "op-1"), *az_take("pgwal", "op-2"),
        az_get_snapshot("pgdata", True), az_get_snapshot("pgwal", True),
        *az_delete("pgdata", "op-3"), *az_delete("pgwal", "op-4"),
        az_get_snapshot("pgdata", False), az_get_snapshot("pgwal", False),
        # ARM answers 204 when deleting what does not exist
        ia("DELETE", f"{ARM}/snapshots/pgdata-{SNAP_SUFFIX}?api-version=2025-01-02", 204),
        ia("DELETE", f"{ARM}/snapshots/pgwal-{SNAP_SUFFIX}?api-version=2025-01-02", 204)])
    write("test_snapshot_azure", f"{cls}.test_snapshotting_a_disk_not_attached_fails_before_any_snapshot",
          [vm, az_get_snapshot("pgdata", False)])
    write("test_snapshot_azure", "TestAzureRequestShape.test_snapshot_body_is_the_arm_shape",
          [vm, *az_take("pgdata", "op-1")])


# -- GCP ---------------------------------------------------------------------------------------
def gce_instance(name: str = "pg-vm") -> dict[str, Any]:
    def disk(index: int, disk_name: str, boot: bool = False) -> dict[str, Any]:
        return {"kind": "compute#attachedDisk", "type": "PERSISTENT", "mode": "READ_WRITE", "index": index,
                "boot": boot, "deviceName": f"{disk_name}-dev" if not boot else disk_name,
                "source": f"{LINK}/zones/{ZONE}/disks/{disk_name}", "autoDelete": boot}

    return {"kind": "compute#instance", "id": "1234567890123456789", "name": name, "status": "RUNNING",
            "zone": f"{LINK}/zones/{ZONE}", "machineType": f"{LINK}/zones/{ZONE}/machineTypes/e2-standard-2",
            "disks": [disk(0, name, boot=True), disk(1, "pgdata"), disk(2, "pgwal")]}


def gce_missing(what: str) -> dict[str, Any]:
    message = f"The resource 'projects/{PROJECT}/{what}' was not found"
    return {"error": {"code": 404, "message": message, "errors": [{"message": message, "domain": "global", "reason": "notFound"}]}}


def gce_operation(op: str, kind: str, target: str, status: str) -> dict[str, Any]:
    return {"kind": "compute#operation", "id": "5555555555555555555", "name": op, "operationType": kind,
            "targetLink": f"{LINK}/global/snapshots/{target}", "status": status,
            "progress": 100 if status == "DONE" else 0, "insertTime": "2026-11-26T04:19:54.000-08:00",
            "selfLink": f"{LINK}/global/operations/{op}"}


def gce_snapshot_call(method: str, disk: str, op: str) -> list[dict[str, Any]]:
    name, kind = f"{disk}-{SNAP_SUFFIX}", "insert" if method == "POST" else "delete"
    uri = f"{GCE}/global/snapshots" if method == "POST" else f"{GCE}/global/snapshots/{name}"
    return [ia(method, uri, 200, gce_operation(op, kind, name, "RUNNING")),
            ia("POST", f"{GCE}/global/operations/{op}/wait", 200, gce_operation(op, kind, name, "DONE"))]


def gce_get_snapshot(disk: str, found: bool) -> dict[str, Any]:
    name = f"{disk}-{SNAP_SUFFIX}"
    body = {"kind": "compute#snapshot", "name": name, "status": "READY",
            "sourceDisk": f"{LINK}/zones/{ZONE}/disks/{disk}"}
    return ia("GET", f"{GCE}/global/snapshots/{name}", 200 if found else 404,
              body if found else gce_missing(f"global/snapshots/{name}"))


def gcp() -> None:
    vm = ia("GET", f"{GCE}/zones/{ZONE}/instances/pg-vm", 200, gce_instance())
    missing = ia("GET", f"{GCE}/zones/{ZONE}/instances/no-such-instance", 404,
                 gce_missing(f"zones/{ZONE}/instances/no-such-instance"))

    def disk(name: str) -> dict[str, Any]:
        return ia("GET", f"{GCE}/zones/{ZONE}/disks/{name}", 200,
                  {"kind": "compute#disk", "name": name, "sizeGb": "100", "status": "READY", "zone": f"{LINK}/zones/{ZONE}"})

    cls = "TestGceSnapshotProvider"
    write("test_snapshot_gcp", f"{cls}.test_instance_exists", [vm, missing])
    write("test_snapshot_gcp", f"{cls}.test_a_missing_instance_is_a_one_line_provider_error", [missing])
    write("test_snapshot_gcp", f"{cls}.test_attached_disks_in_order_with_their_devices", [vm, disk("pgdata"), disk("pgwal")])
    write("test_snapshot_gcp", f"{cls}.test_take_then_delete_snapshots", [
        vm, *gce_snapshot_call("POST", "pgdata", "operation-1"), *gce_snapshot_call("POST", "pgwal", "operation-2"),
        gce_get_snapshot("pgdata", True), gce_get_snapshot("pgwal", True),
        *gce_snapshot_call("DELETE", "pgdata", "operation-3"), *gce_snapshot_call("DELETE", "pgwal", "operation-4"),
        gce_get_snapshot("pgdata", False), gce_get_snapshot("pgwal", False),
        ia("DELETE", f"{GCE}/global/snapshots/pgdata-{SNAP_SUFFIX}", 404, gce_missing(f"global/snapshots/pgdata-{SNAP_SUFFIX}")),
        ia("DELETE", f"{GCE}/global/snapshots/pgwal-{SNAP_SUFFIX}", 404, gce_missing(f"global/snapshots/pgwal-{SNAP_SUFFIX}"))])
    write("test_snapshot_gcp", f"{cls}.test_snapshotting_a_disk_not_attached_fails_before_any_snapshot",
          [vm, gce_get_snapshot("pgdata", False)])


if __name__ == "__main__":
    azure()
    gcp()
