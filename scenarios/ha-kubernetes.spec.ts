/**
 * HA_STORE=kubernetes without a cluster (none runs here): the image's ha target, as a pod would
 * run it. Without the pod's service account token the member stops in one line before anything is
 * written; with one, the patroni.yml the runtime renders passes Patroni's own validation
 * (`patroni --validate-config`) and Patroni asks the API (a port that closes every connection here) for the
 * cluster's ConfigMaps and its members' pods in the pod's namespace, by the labels
 * deploy/kubernetes gives them.
 * deploy/kubernetes/manifests.test.ts checks the manifests against the same rendering.
 */
import { describe, expect } from "vitest";
import { scenario as it } from "../harness/fixtures.js";
import { haImage, OneShotContainer } from "../harness/index.js";
import { testCa } from "../harness/test-ca.js";

/** What a pod of deploy/kubernetes has in its environment, less the secrets' files. */
const podEnvironment = {
  HA_MODE: "patroni",
  HA_STORE: "kubernetes",
  KUBERNETES_SERVICE_HOST: "127.0.0.1",
  KUBERNETES_SERVICE_PORT: "6443",
  HA_MEMBER_NAME: "postgres-ba-0",
  SERVER_NAME: "postgres-ba-0.postgres-ba",
  POSTGRES_PASSWORD: "pw",
  REPLICATION_PASSWORD: "rp",
};
const serviceAccount = "/var/run/secrets/kubernetes.io/serviceaccount";
/** A listener on 127.0.0.1:6443 that closes every connection at once. */
const acceptAndClose = "import socket; s = socket.create_server(('127.0.0.1', 6443)); [s.accept()[0].close() for _ in iter(int, 1)]";
/** The same directory for copying files in (/var/run is a link to /run, which the copy does not follow). */
const serviceAccountCopy = "/run/secrets/kubernetes.io/serviceaccount";

describe("@ha-kubernetes Patroni's Kubernetes store, as a pod runs it #ha-kubernetes-store", () => {
  it("without the pod's service account token: one line, nothing started", async () => {
    const result = await new OneShotContainer(await haImage()).withEnvironment(podEnvironment).run();
    expect(result.exitCode, result.output).toBe(78);
    expect(result.stderr.trim()).toBe(
      `postgres-ba: configuration error: HA_STORE=kubernetes: needs the pod's service account token (${serviceAccount}/token), which Patroni signs in to the Kubernetes API with, and this container has none. ` +
        "Fix: give the pod a service account with its token mounted (automountServiceAccountToken: true; deploy/kubernetes/base), or HA_STORE=etcd3 with HA_ETCD_HOSTS.",
    );
  });

  it("with one: Patroni accepts the rendered configuration and asks the API for the cluster's objects in the pod's namespace, by its labels; PATRONI_* variables reach it #ha-patroni-env", async () => {
    const result = await new OneShotContainer(await haImage())
      // A raw Patroni variable over patroni.yml (its log level INFO there), as Patroni documents them.
      .withEnvironment({ ...podEnvironment, PATRONI_LOG_LEVEL: "DEBUG" })
      .withFile(`${serviceAccountCopy}/token`, "not-a-real-token\n")
      .withFile(`${serviceAccountCopy}/namespace`, "databases\n")
      .withFile(`${serviceAccountCopy}/ca.crt`, testCa().cert)
      .withEntrypoint("sh")
      // The "API": a port that accepts connections (the member waits for that) and closes them at
      // once. The member runs for 25 s against it; then Patroni validates the file it wrote.
      .withCommand([
        "-c",
        `python3 -c "${acceptAndClose}" & timeout 25 docker-entrypoint.sh postgres; su postgres -s /bin/sh -c 'patroni --validate-config /etc/patroni/patroni.yml' && echo VALID`,
      ])
      .run(120_000);
    expect(result.output).toMatch(/patroni\.yml written: member postgres-ba-0 of postgres, store the Kubernetes API \(namespace databases\)/);
    expect(result.output).toMatch(/VALID$/m);
    expect(result.output).toMatch(/^\S+ \S+ DEBUG: /m);
    // Its requests to the API: the pod's namespace, the cluster's ConfigMaps and its members' pods by their labels.
    const selector = "labelSelector=app.kubernetes.io%2Fname%3Dpostgres-pgbackrest%2Ccluster-name%3Dpostgres";
    expect(result.output).toContain(`/api/v1/namespaces/databases/configmaps?${selector}`);
    expect(result.output).toContain(`/api/v1/namespaces/databases/pods?${selector}`);
  });
});
