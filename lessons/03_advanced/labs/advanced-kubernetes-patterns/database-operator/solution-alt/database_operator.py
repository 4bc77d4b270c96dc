#!/usr/bin/env python3
"""Alternative correct solution, written differently on purpose.

Instead of a watch plus read/create/patch with the typed API classes, this operator polls: every
POLL_SECONDS it lists the Databases and *server-side applies* the desired StatefulSet and headless
Service for each one through the kubernetes client's dynamic client. Server-side apply is
create-or-update in one idempotent request: the API server merges the fields this field manager
owns and leaves other managers' fields alone. The owned objects and the status are the same as in
the reference solution, so every operator check must pass.

Run it in your terminal:   NAMESPACE=<namespace> GROUP=<group> python3 database_operator.py
"""

import json
import logging
import os
import sys
import time

from kubernetes import client, config, dynamic
from kubernetes.client.rest import ApiException

VERSION = "v1"
POLL_SECONDS = 3
MANAGER = "database-operator"
ENGINES = {  # engine -> (image, default version, port)
    "postgres": ("postgres", "17", 5432),
    "mysql": ("mysql", "8.4", 3306),
}

log = logging.getLogger(MANAGER)


def children(db, group):
    """The Service and StatefulSet a Database should have, as full objects for server-side apply."""
    name, spec = db["metadata"]["name"], db["spec"]
    image, default_version, port = ENGINES[spec["engine"]]
    child = f"{name}-db"
    labels = {"app.kubernetes.io/instance": name, "app.kubernetes.io/managed-by": MANAGER}
    owner = {
        "apiVersion": f"{group}/{VERSION}", "kind": "Database", "name": name,
        "uid": db["metadata"]["uid"], "controller": True, "blockOwnerDeletion": True,
    }
    meta = {"name": child, "labels": labels, "ownerReferences": [owner]}
    service = {
        "apiVersion": "v1", "kind": "Service", "metadata": meta,
        "spec": {"clusterIP": "None", "selector": labels, "ports": [{"name": "db", "port": port}]},
    }
    statefulset = {
        "apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": meta,
        "spec": {
            "serviceName": child,
            "replicas": spec["replicas"],
            "selector": {"matchLabels": labels},
            "template": {
                "metadata": {"labels": labels},
                "spec": {"containers": [{
                    "name": "db",
                    "image": f"{image}:{spec.get('version') or default_version}",
                    "ports": [{"name": "db", "containerPort": port}],
                    "resources": {"requests": {"cpu": "50m", "memory": "64Mi"},
                                  "limits": {"cpu": "100m", "memory": "128Mi"}},
                }]},
            },
        },
    }
    return service, statefulset


class Operator:
    def __init__(self, namespace, group):
        self.namespace, self.group = namespace, group
        self.api = dynamic.DynamicClient(client.ApiClient())
        self.databases = self.api.resources.get(api_version=f"{group}/{VERSION}", kind="Database")
        self.services = self.api.resources.get(api_version="v1", kind="Service")
        self.statefulsets = self.api.resources.get(api_version="apps/v1", kind="StatefulSet")

    def apply(self, resource, body):
        # The body goes as JSON text (JSON is YAML): older clients, such as Debian's, send an
        # apply patch only as text, newer ones accept either.
        return self.api.server_side_apply(resource, body=json.dumps(body), name=body["metadata"]["name"],
                                          namespace=self.namespace, field_manager=MANAGER, force_conflicts=True)

    def sync(self):
        for db in self.databases.get(namespace=self.namespace).to_dict()["items"]:
            if db["metadata"].get("deletionTimestamp"):
                continue  # garbage collection removes the children
            name = db["metadata"]["name"]
            try:
                service, statefulset = children(db, self.group)
                self.apply(self.services, service)
                sts = self.apply(self.statefulsets, statefulset).to_dict()
                ready = sts.get("status", {}).get("readyReplicas", 0)
                status = {
                    "phase": "Ready" if ready >= db["spec"]["replicas"] else "Provisioning",
                    "replicas": ready,
                    "observedGeneration": db["metadata"].get("generation", 0),
                }
                if any((db.get("status") or {}).get(k) != v for k, v in status.items()):
                    log.info("%s: %s (%d ready)", name, status["phase"], ready)
                    self.api.patch(self.databases.subresources["status"], name=name, namespace=self.namespace,
                                   body={"status": status}, content_type="application/merge-patch+json")
            except ApiException as error:
                log.warning("%s: %s %s", name, error.status, error.reason)


def main():
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    group = os.environ.get("GROUP") or sys.exit("set GROUP to your API group")
    config.load_kube_config()
    namespace = os.environ.get("NAMESPACE") or config.list_kube_config_contexts()[1]["context"].get("namespace")
    if not namespace:
        sys.exit("set NAMESPACE to your sandbox namespace")
    operator = Operator(namespace, group)
    log.info("polling databases.%s in %s every %ds", group, namespace, POLL_SECONDS)
    try:
        while True:
            try:
                operator.sync()
            except ApiException as error:
                log.warning("list failed: %s %s", error.status, error.reason)
            time.sleep(POLL_SECONDS)
    except KeyboardInterrupt:
        log.info("stopped")


if __name__ == "__main__":
    main()
