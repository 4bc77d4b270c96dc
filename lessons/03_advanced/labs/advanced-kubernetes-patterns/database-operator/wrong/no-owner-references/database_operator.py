#!/usr/bin/env python3
"""WRONG VARIANT (no-owner-references): the children carry no ownerReferences, so the Database does
not own them and deleting it leaves the StatefulSet and Service behind. Fails check
operator-owns-children.

Otherwise identical to the reference solution: a small operator for the Database custom resource.

For every Database <name> in the namespace it keeps two objects in the shape the spec asks for:

  * a headless Service  <name>-db  (clusterIP: None), and
  * a StatefulSet       <name>-db  with spec.replicas copied from the Database,

both owned by the Database (a controller ownerReference), so deleting the Database lets the
garbage collector delete them. It reports what it observes in the Database's status
subresource: status.replicas (ready Pods of the StatefulSet), status.phase (Ready once every
replica is ready, Provisioning before) and status.observedGeneration.

The loop is level-triggered: every event and every periodic resync runs the same idempotent
reconcile(), which reads the current state and creates or patches what is missing or different.

Run it in your terminal:   NAMESPACE=<namespace> GROUP=<group> python3 database_operator.py
(NAMESPACE defaults to the namespace of the current kubeconfig context; it uses ~/.kube/config
or $KUBECONFIG.) Stop it with Ctrl-C.
"""

import logging
import os
import signal
import sys

from kubernetes import client, config, watch
from kubernetes.client.rest import ApiException

VERSION = "v1"
PLURAL = "databases"
RESYNC_SECONDS = 10  # a watch ends after this long; then every Database is reconciled again

IMAGES = {"postgres": "postgres", "mysql": "mysql"}
DEFAULT_VERSIONS = {"postgres": "17", "mysql": "8.4"}
PORTS = {"postgres": 5432, "mysql": 3306}

log = logging.getLogger("database-operator")


def settings():
    """The namespace and API group to work in, from the environment (or the kubeconfig context)."""
    group = os.environ.get("GROUP", "").strip()
    if not group:
        sys.exit("set GROUP to your API group, for example: GROUP=s-ab12cd.labs.kubedojo.dev")
    namespace = os.environ.get("NAMESPACE", "").strip()
    if not namespace:
        _, current = config.list_kube_config_contexts()
        namespace = current["context"].get("namespace", "")
    if not namespace:
        sys.exit("set NAMESPACE to your sandbox namespace")
    return namespace, group


def load_kube_config():
    try:
        config.load_kube_config()  # $KUBECONFIG or ~/.kube/config
    except config.ConfigException:
        config.load_incluster_config()


class Operator:
    def __init__(self, namespace, group):
        self.namespace = namespace
        self.group = group
        self.custom = client.CustomObjectsApi()
        self.apps = client.AppsV1Api()
        self.core = client.CoreV1Api()

    # ---- desired state ---------------------------------------------------------------------

    def owner_reference(self, db):
        """Makes the Database the controller of a child, so that garbage collection deletes it."""
        return {
            "apiVersion": f"{self.group}/{VERSION}",
            "kind": "Database",
            "name": db["metadata"]["name"],
            "uid": db["metadata"]["uid"],
            "controller": True,
            "blockOwnerDeletion": True,
        }

    def labels(self, db):
        return {
            "app.kubernetes.io/name": "database",
            "app.kubernetes.io/instance": db["metadata"]["name"],
            "app.kubernetes.io/managed-by": "database-operator",
        }

    def desired_service(self, db):
        engine = db["spec"]["engine"]
        return {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {
                "name": f"{db['metadata']['name']}-db",
                "labels": self.labels(db),
            },
            "spec": {
                "clusterIP": "None",  # headless: one DNS record per Pod
                "selector": self.labels(db),
                "ports": [{"name": engine, "port": PORTS[engine], "targetPort": PORTS[engine]}],
            },
        }

    def desired_statefulset(self, db):
        spec = db["spec"]
        engine = spec["engine"]
        name = f"{db['metadata']['name']}-db"
        image = f"{IMAGES[engine]}:{spec.get('version') or DEFAULT_VERSIONS[engine]}"
        return {
            "apiVersion": "apps/v1",
            "kind": "StatefulSet",
            "metadata": {
                "name": name,
                "labels": self.labels(db),
            },
            "spec": {
                "serviceName": name,
                "replicas": spec["replicas"],
                "selector": {"matchLabels": self.labels(db)},
                "template": {
                    "metadata": {"labels": self.labels(db)},
                    "spec": {
                        "containers": [
                            {
                                "name": engine,
                                "image": image,
                                "ports": [{"name": engine, "containerPort": PORTS[engine]}],
                                "resources": {
                                    "requests": {"cpu": "50m", "memory": "64Mi"},
                                    "limits": {"cpu": "100m", "memory": "128Mi"},
                                },
                            }
                        ]
                    },
                },
            },
        }

    # ---- reconcile -------------------------------------------------------------------------

    def ensure(self, read, create, patch, body):
        """Create-or-patch: idempotent, so running it twice changes nothing the second time."""
        name = body["metadata"]["name"]
        try:
            read(name, self.namespace)
        except ApiException as error:
            if error.status != 404:
                raise
            log.info("creating %s %s", body["kind"], name)
            return create(self.namespace, body)
        # A dict body is sent as a strategic merge patch: fields not in `body` are left alone.
        return patch(name, self.namespace, body)

    def reconcile(self, db):
        meta = db["metadata"]
        if meta.get("deletionTimestamp"):
            return  # nothing to do: the garbage collector deletes the owned objects
        self.ensure(
            self.core.read_namespaced_service,
            self.core.create_namespaced_service,
            self.core.patch_namespaced_service,
            self.desired_service(db),
        )
        sts = self.ensure(
            self.apps.read_namespaced_stateful_set,
            self.apps.create_namespaced_stateful_set,
            self.apps.patch_namespaced_stateful_set,
            self.desired_statefulset(db),
        )
        ready = (sts.status.ready_replicas or 0) if sts.status else 0
        wanted = db["spec"]["replicas"]
        status = {
            "phase": "Ready" if ready >= wanted else "Provisioning",
            "replicas": ready,
            "observedGeneration": meta.get("generation", 0),
        }
        if db.get("status") != {**(db.get("status") or {}), **status}:
            log.info("%s: %s, %d/%d ready", meta["name"], status["phase"], ready, wanted)
            self.custom.patch_namespaced_custom_object_status(
                self.group, VERSION, self.namespace, PLURAL, meta["name"], {"status": status},
            )

    def reconcile_safely(self, db):
        try:
            self.reconcile(db)
        except ApiException as error:
            if error.status == 404:
                return  # the Database was deleted meanwhile
            log.warning("reconcile %s failed (%s); retrying on the next resync", db["metadata"]["name"], error.reason)

    # ---- the loop ---------------------------------------------------------------------------

    def run(self):
        log.info("watching databases.%s in namespace %s", self.group, self.namespace)
        resource_version = None
        while True:
            if resource_version is None:
                # Resync: reconcile everything that exists (level-triggered), then watch from here.
                listing = self.custom.list_namespaced_custom_object(self.group, VERSION, self.namespace, PLURAL)
                for db in listing["items"]:
                    self.reconcile_safely(db)
                resource_version = listing["metadata"]["resourceVersion"]
            stream = watch.Watch()
            try:
                for event in stream.stream(
                    self.custom.list_namespaced_custom_object, self.group, VERSION, self.namespace, PLURAL,
                    resource_version=resource_version, timeout_seconds=RESYNC_SECONDS,
                ):
                    if event["type"] == "ERROR":
                        break  # for example 410 Gone: our resourceVersion is too old; resync
                    db = event["object"]
                    resource_version = db["metadata"]["resourceVersion"]
                    if event["type"] in ("ADDED", "MODIFIED"):
                        self.reconcile_safely(db)
                    elif event["type"] == "DELETED":
                        log.info("%s deleted; its StatefulSet and Service are garbage-collected", db["metadata"]["name"])
            except ApiException as error:
                if error.status != 410:  # 410 Gone: our resourceVersion is too old; just resync
                    log.warning("watch failed (%s); resyncing", error.reason)
            # The watch ended (timeout or error): resync, which also picks up StatefulSet readiness.
            resource_version = None


def main():
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    load_kube_config()
    namespace, group = settings()
    try:
        Operator(namespace, group).run()
    except KeyboardInterrupt:
        log.info("stopped")


if __name__ == "__main__":
    main()
