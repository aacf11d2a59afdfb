/**
 * The Kubernetes manifests, checked without a cluster (none runs here): every object against
 * Kubernetes' own schemas (kubernetes-models, and Prometheus Operator's for the ServiceMonitor),
 * then against what the runtime and Patroni will do with them. The StatefulSet's environment goes
 * through the runtime's own parser and rules, and the patroni.yml it renders decides the labels,
 * ports and names the services, probes and budget must agree with. The schemas check types,
 * required fields and enums, not unknown fields (a misspelt optional field passes them): the
 * fields the members depend on are asserted one by one below.
 */
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { ServiceMonitor } from "@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1";
import { StatefulSet } from "kubernetes-models/apps/v1";
import { PodDisruptionBudget } from "kubernetes-models/policy/v1";
import { Role, RoleBinding } from "kubernetes-models/rbac.authorization.k8s.io/v1";
import { Service, ServiceAccount } from "kubernetes-models/v1";
import { describe, expect, it } from "vitest";
import { parseAllDocuments, parse as parseYaml } from "yaml";
import { parseEnv } from "../../runtime/env/parse.js";
import { patroniConf } from "../../runtime/render/patroni-conf.js";

type Manifest = { apiVersion: string; kind: string; metadata: { name: string; labels?: Record<string, string> }; [field: string]: unknown };

/** The schema every kind here is validated against (an unknown kind fails the test). */
const models: Record<string, new (data: never) => { validate(): void }> = {
  "apps/v1/StatefulSet": StatefulSet,
  "v1/Service": Service,
  "v1/ServiceAccount": ServiceAccount,
  "rbac.authorization.k8s.io/v1/Role": Role,
  "rbac.authorization.k8s.io/v1/RoleBinding": RoleBinding,
  "policy/v1/PodDisruptionBudget": PodDisruptionBudget,
  "monitoring.coreos.com/v1/ServiceMonitor": ServiceMonitor,
};

/**
 * The objects `kubectl apply -k dir` creates. Only `resources` (files, or directories with their
 * own kustomization.yaml) is understood: any other kustomize field fails here rather than being
 * silently left out of what is checked.
 */
function kustomize(dir: string): Manifest[] {
  const { apiVersion, kind, resources, ...rest } = parseYaml(readFileSync(join(dir, "kustomization.yaml"), "utf8"));
  expect(rest, `${dir}/kustomization.yaml uses fields this test does not apply`).toEqual({});
  expect(`${apiVersion}/${kind}`).toBe("kustomize.config.k8s.io/v1beta1/Kustomization");
  return (resources as string[]).flatMap((resource) => {
    const path = join(dir, resource);
    if (!resource.endsWith(".yaml")) return kustomize(path);
    return parseAllDocuments(readFileSync(path, "utf8")).map((d) => d.toJS() as Manifest);
  });
}

const here = dirname(new URL(import.meta.url).pathname);
const base = kustomize(join(here, "base"));
const monitoring = kustomize(join(here, "monitoring"));

function only<T = Manifest>(objects: Manifest[], kind: string, name?: string): T {
  const found = objects.filter((o) => o.kind === kind && (name === undefined || o.metadata.name === name));
  expect(found, `one ${kind}${name ? ` ${name}` : ""}`).toHaveLength(1);
  return found[0] as T;
}

interface Container {
  name: string;
  env: Array<{ name: string; value?: string; valueFrom?: { fieldRef?: { fieldPath: string } } }>;
  ports: Array<{ name: string; containerPort: number }>;
  readinessProbe: { httpGet: { path: string; port: string; scheme: string } };
  livenessProbe: { httpGet: { path: string; port: string; scheme: string } };
  volumeMounts: Array<{ name: string; mountPath: string; readOnly?: boolean }>;
}
interface StatefulSetSpec {
  metadata: { name: string };
  spec: {
    serviceName: string;
    replicas: number;
    selector: { matchLabels: Record<string, string> };
    template: {
      metadata: { labels: Record<string, string> };
      spec: {
        serviceAccountName: string;
        securityContext: { runAsUser: number; fsGroup: number; runAsNonRoot: boolean };
        containers: Container[];
        volumes: Array<{ name: string; secret?: { secretName: string } }>;
      };
    };
    volumeClaimTemplates: Array<{ metadata: { name: string } }>;
  };
}
interface ServiceSpec {
  metadata: { name: string; labels: Record<string, string> };
  spec: { selector: Record<string, string>; clusterIP?: string; publishNotReadyAddresses?: boolean; ports: Array<{ name: string; targetPort: string }> };
}

const statefulSet = only<StatefulSetSpec>(base, "StatefulSet");
const podLabels = statefulSet.spec.template.metadata.labels;
const container = statefulSet.spec.template.spec.containers[0];
const podName = `${statefulSet.metadata.name}-0`;

/** The secret volume mounted at `mountPath`, if any. */
function secretAt(path: string): string | undefined {
  const mount = container.volumeMounts.find((m) => dirname(path) === m.mountPath);
  return statefulSet.spec.template.spec.volumes.find((v) => v.name === mount?.name)?.secret?.secretName;
}

/** The container's environment as the kubelet hands it over: fieldRefs filled in, $(VAR) expanded in order. */
function podEnvironment(): Record<string, string> {
  const env: Record<string, string> = { KUBERNETES_SERVICE_HOST: "10.96.0.1", HOSTNAME: podName };
  for (const e of container.env) {
    if (e.valueFrom?.fieldRef) {
      expect(e.valueFrom.fieldRef.fieldPath).toBe("metadata.name");
      env[e.name] = podName;
    } else {
      env[e.name] = (e.value ?? "").replace(/\$\(([A-Z_]+)\)/g, (_, name: string) => env[name] ?? `$(${name})`);
    }
  }
  return env;
}

/** Files the environment names (*_FILE): each must come from a mounted secret. */
const secretFilesRead: string[] = [];
const env = parseEnv(podEnvironment(), (path) => {
  expect(secretAt(path), `${path} is in a mounted secret`).toBeDefined();
  secretFilesRead.push(path);
  return "a-secret";
});
const patroni = patroniConf(env);
const portOf = (name: string) => container.ports.find((p) => p.name === name)?.containerPort;

describe("deploy/kubernetes: every object is valid against the Kubernetes schemas", () => {
  it.each([...base, ...monitoring.filter((o) => !base.some((b) => b.kind === o.kind && b.metadata.name === o.metadata.name))])(
    "$kind $metadata.name",
    (object) => {
      const Model = models[`${object.apiVersion}/${object.kind}`];
      expect(Model, `a schema for ${object.apiVersion}/${object.kind}`).toBeDefined();
      expect(() => new Model(object as never).validate()).not.toThrow();
    },
  );

  it("a wrong field type is caught (the validation is real)", () => {
    const broken = structuredClone(statefulSet) as unknown as { spec: { replicas: unknown } };
    broken.spec.replicas = "three";
    expect(() => new StatefulSet(broken as never).validate()).toThrow();
  });

  it("the monitoring overlay is the base plus its own objects", () => {
    for (const object of base) expect(monitoring).toContainEqual(object);
    expect(monitoring.map((o) => o.kind).sort()).toEqual([...base.map((o) => o.kind), "Service", "ServiceMonitor", "ServiceMonitor"].sort());
  });
});

describe("deploy/kubernetes agrees with the runtime and Patroni", () => {
  it("the members' environment passes the runtime's rules: Patroni with the Kubernetes store, secrets from files", () => {
    expect(env.HA_MODE).toBe("patroni");
    expect(env.HA_STORE).toBe("kubernetes");
    expect(env.POSTGRES_PASSWORD).toBe("a-secret");
    expect(env.REPLICATION_PASSWORD).toBe("a-secret");
    expect(secretFilesRead.length).toBeGreaterThanOrEqual(4);
    expect(container.env.some((e) => /PASSWORD$|SECRET_KEY$|ACCESS_KEY$/.test(e.name))).toBe(false);
  });

  it("Patroni's member name is the pod's (it labels its own pod by that name), reached at the headless service's name", () => {
    expect(patroni.name).toBe(podName);
    const headless = only<ServiceSpec>(base, "Service", statefulSet.spec.serviceName);
    expect(headless.spec.clusterIP).toBe("None");
    expect(headless.spec.publishNotReadyAddresses, "a member being cloned is reachable before it is ready").toBe(true);
    expect(patroni.postgresql.connect_address).toBe(`${podName}.${statefulSet.spec.serviceName}:${portOf("postgresql")}`);
    expect(patroni.restapi.connect_address).toBe(`${podName}.${statefulSet.spec.serviceName}:${portOf("patroni")}`);
  });

  it("the pods carry the labels Patroni looks its members up by", () => {
    const k8s = patroni.kubernetes as { labels: Record<string, string>; scope_label: string; role_label: string };
    expect(podLabels).toEqual({ ...k8s.labels, [k8s.scope_label]: patroni.scope });
    expect(statefulSet.spec.selector.matchLabels).toEqual(podLabels);
    expect(only<{ spec: { selector: { matchLabels: Record<string, string> } } }>(base, "PodDisruptionBudget").spec.selector.matchLabels).toEqual(podLabels);
  });

  it("the primary and replica services select on the role label values Patroni sets", () => {
    const role = (patroni.kubernetes as { role_label: string }).role_label;
    // Patroni's defaults (leader_label_value, follower_label_value), which the configuration keeps.
    expect(patroni.kubernetes).not.toHaveProperty("leader_label_value");
    expect(patroni.kubernetes).not.toHaveProperty("follower_label_value");
    for (const [name, value] of [
      ["postgres-ba-primary", "primary"],
      ["postgres-ba-replicas", "replica"],
    ]) {
      expect(only<ServiceSpec>(base, "Service", name).spec.selector).toEqual({ ...podLabels, [role]: value });
    }
    expect(only<ServiceSpec>(monitoring, "Service", "postgres-ba-metrics").spec.selector).toEqual({ ...podLabels, [role]: "primary" });
  });

  it("every service port reaches a named container port, and the ports are the runtime's", () => {
    for (const service of [...base, ...monitoring].filter((o) => o.kind === "Service") as unknown as ServiceSpec[]) {
      for (const port of service.spec.ports) expect(portOf(port.targetPort), `${service.metadata.name} ${port.name}`).toBeDefined();
    }
    expect(portOf("postgresql")).toBe(env.POSTGRES_PORT);
    expect(portOf("patroni")).toBe(env.HA_REST_PORT);
    expect(portOf("metrics")).toBe(env.METRICS_PORT);
  });

  it("probes ask Patroni's REST API over TLS", () => {
    expect(container.readinessProbe.httpGet).toEqual({ path: "/readiness", port: "patroni", scheme: "HTTPS" });
    expect(container.livenessProbe.httpGet).toEqual({ path: "/liveness", port: "patroni", scheme: "HTTPS" });
  });

  it("the data volume holds PGDATA and the certificates; the CA comes from a secret at CA_DIR", () => {
    const data = container.volumeMounts.find((m) => m.name === statefulSet.spec.volumeClaimTemplates[0].metadata.name);
    expect(env.PGDATA.startsWith(`${data?.mountPath}/`)).toBe(true);
    expect(env.SSL_CERT_DIR.startsWith(`${data?.mountPath}/`)).toBe(true);
    expect(secretAt(join(env.CA_DIR, "ca.crt"))).toBe("postgres-ba-ca");
  });

  it("Patroni's service account may keep the state in ConfigMaps and label its pod", () => {
    const role = only<{ rules: Array<{ apiGroups: string[]; resources: string[]; verbs: string[] }> }>(base, "Role");
    const allowed = (resource: string) => role.rules.filter((r) => r.resources.includes(resource)).flatMap((r) => r.verbs);
    // deletecollection: `patronictl remove`, which the runtime names to clear a half-made cluster.
    expect(allowed("configmaps")).toEqual(expect.arrayContaining(["get", "list", "watch", "create", "update", "patch", "delete", "deletecollection"]));
    expect(allowed("pods")).toEqual(expect.arrayContaining(["get", "list", "watch", "patch"]));
    const binding = only<{ subjects: Array<{ kind: string; name: string }>; roleRef: { name: string } }>(base, "RoleBinding");
    expect(binding.subjects).toEqual([{ kind: "ServiceAccount", name: statefulSet.spec.template.spec.serviceAccountName }]);
    expect(binding.roleRef.name).toBe(only(base, "Role").metadata.name);
  });

  it("three members, each with its own volume", () => {
    expect(statefulSet.spec.replicas).toBe(3);
    expect(statefulSet.spec.volumeClaimTemplates.map((t) => t.metadata.name)).toEqual(["data"]);
  });

  it("the namespace's services set no variables in the members (POSTGRES_PORT=tcp://... would be refused)", () => {
    expect((statefulSet.spec.template.spec as { enableServiceLinks?: boolean }).enableServiceLinks).toBe(false);
  });

  it("runs as PostgreSQL's account, never root", () => {
    expect(statefulSet.spec.template.spec.securityContext).toMatchObject({ runAsNonRoot: true, runAsUser: 70, fsGroup: 70 });
  });

  it("one ServiceMonitor scrapes the runtime's metrics from the leader, the other Patroni's from every member", () => {
    type Monitor = { spec: { selector: { matchLabels: Record<string, string> }; endpoints: Array<{ port: string; path: string; scheme?: string }> } };
    const services = monitoring.filter((o) => o.kind === "Service") as unknown as ServiceSpec[];
    const scraped = (monitor: Monitor) =>
      services.filter((s) => Object.entries(monitor.spec.selector.matchLabels).every(([k, v]) => s.metadata.labels[k] === v));
    const runtime = only<Monitor>(monitoring, "ServiceMonitor", "postgres-ba");
    expect(scraped(runtime).map((s) => s.metadata.name)).toEqual(["postgres-ba-metrics"]);
    expect(runtime.spec.endpoints).toEqual([expect.objectContaining({ port: "metrics", path: "/metrics" })]);
    const patroniMonitor = only<Monitor>(monitoring, "ServiceMonitor", "postgres-ba-patroni");
    expect(scraped(patroniMonitor).map((s) => s.metadata.name)).toEqual([statefulSet.spec.serviceName]);
    expect(patroniMonitor.spec.endpoints).toEqual([expect.objectContaining({ port: "patroni", path: "/metrics", scheme: "https" })]);
    for (const monitor of [runtime, patroniMonitor]) {
      for (const endpoint of monitor.spec.endpoints) expect(scraped(monitor)[0].spec.ports.map((p) => p.name)).toContain(endpoint.port);
    }
  });
});
