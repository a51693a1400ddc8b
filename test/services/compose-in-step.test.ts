import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseEnv } from 'node:util';
import { parse } from 'yaml';

const ROOT = join(__dirname, '..', '..');
const read = (file: string) => readFileSync(join(ROOT, file), 'utf8');

const compose = parse(read('docker-compose.yml'), { merge: true });
const envExample = parseEnv(read('.env.example'));
const servicesScript = read('scripts/services.sh');
const kafkaPom = read('scripts/services/kafka/pom.xml');

/** `NAME=value` or `NAME=${NAME:-value}` in scripts/services.sh. */
function scriptSetting(name: string): string {
  const match = servicesScript.match(new RegExp(`^${name}=(?:\\$\\{${name}:-([^}]+)\\}|(\\S+))$`, 'm'));
  if (!match) throw new Error(`scripts/services.sh does not set ${name}`);
  return match[1] ?? match[2];
}

/** The `export NAME=value` lines of services.sh's env_lines, with the script's settings filled in. */
function scriptEnvLines(): Record<string, string> {
  const start = servicesScript.indexOf('env_lines() {');
  const body = servicesScript.slice(start, servicesScript.indexOf('\n}\n', start));
  return Object.fromEntries(
    [...body.matchAll(/export (\w+)=([^"]+)"/g)].map(([, name, template]) => [
      name,
      template.replace(/\$(\w+)/g, (_, setting: string) => scriptSetting(setting)),
    ]),
  );
}

function publishedPorts(service: string): string[] {
  return (compose.services[service].ports as string[]).map((mapping) => {
    const [host, published, target] = mapping.split(':');
    expect(host).toBe('127.0.0.1'); // loopback only, as services.sh
    expect(published).toBe(target);
    return published;
  });
}

describe('docker-compose.yml, scripts/services.sh and .env.example describe the same services', () => {
  const gatewayEnv: Record<string, string> = compose['x-tollgraph-environment'];

  it('uses only variable names that .env.example documents', () => {
    const names = Object.keys(compose.services.gateway.environment);
    expect(names.length).toBeGreaterThan(0);
    for (const name of names) expect(Object.keys(envExample)).toContain(name);
  });

  it('points every service URL at a port the compose service publishes and services.sh listens on', () => {
    const port = (url: string) => new URL(url.includes('://') ? url : `tcp://${url}`).port;
    expect(port(gatewayEnv.DATABASE_URL)).toBe(scriptSetting('PG_PORT'));
    expect(publishedPorts('postgres')).toEqual([scriptSetting('PG_PORT')]);
    expect(port(gatewayEnv.REDIS_URL)).toBe(scriptSetting('REDIS_PORT'));
    expect(publishedPorts('redis')).toEqual([scriptSetting('REDIS_PORT')]);
    expect(port(gatewayEnv.KAFKA_BROKERS)).toBe(scriptSetting('KAFKA_PORT'));
    expect(publishedPorts('kafka')).toEqual([scriptSetting('KAFKA_PORT')]);
    expect(port(gatewayEnv.STRIPE_API_BASE)).toBe(scriptSetting('STRIPE_MOCK_PORT'));
    expect(publishedPorts('stripe-mock')).toEqual([scriptSetting('STRIPE_MOCK_PORT'), scriptSetting('STRIPE_MOCK_HTTPS_PORT')]);
    expect(port(gatewayEnv.ARCHIVE_S3_ENDPOINT)).toBe(scriptSetting('S3_PORT'));
    expect(publishedPorts('s3')).toEqual([scriptSetting('S3_PORT')]);
  });

  it('uses the credentials services.sh creates', () => {
    const url = new URL(gatewayEnv.DATABASE_URL);
    expect([url.username, url.password, url.pathname.slice(1)]).toEqual([scriptSetting('PG_USER'), scriptSetting('PG_PASSWORD'), scriptSetting('PG_DB')]);
    expect(gatewayEnv.STRIPE_SECRET_KEY).toBe(scriptSetting('STRIPE_SECRET_KEY'));
    expect([gatewayEnv.ARCHIVE_S3_ACCESS_KEY_ID, gatewayEnv.ARCHIVE_S3_SECRET_ACCESS_KEY, gatewayEnv.ARCHIVE_S3_BUCKET]).toEqual([
      scriptSetting('S3_ACCESS_KEY'),
      scriptSetting('S3_SECRET_KEY'),
      scriptSetting('S3_BUCKET'),
    ]);
    expect(compose.services.s3.entrypoint.join(' ')).toContain(
      `--access ${scriptSetting('S3_ACCESS_KEY')} --secret ${scriptSetting('S3_SECRET_KEY')} --port :${scriptSetting('S3_PORT')} posix /data`,
    );
  });

  it('runs the edge (profile edge) with deploy/edge/haproxy.cfg, every setting it reads, and the HAProxy series services.sh installs', () => {
    const edge = compose.services.edge;
    expect(edge.profiles).toEqual(['edge']);
    expect(edge.image).toMatch(new RegExp(`^haproxy:${scriptSetting('EDGE_HAPROXY_SERIES').replace('.', '\\.')}\\.`));
    expect(edge.volumes).toContain('./deploy/edge/haproxy.cfg:/usr/local/etc/haproxy/haproxy.cfg:ro');
    const config = read('deploy/edge/haproxy.cfg').replace(/^\s*#.*$/gm, '');
    const settings = [...new Set([...config.matchAll(/\$\{(\w+)\}/g)].map(([, name]) => name))].sort();
    expect(Object.keys(edge.environment).sort()).toEqual(settings);
    expect(edge.volumes).toContain(`./deploy/edge/priorities.map:${edge.environment.EDGE_PRIORITY_MAP}:ro`);
  });

  it('runs the same versions', () => {
    expect(compose.services['stripe-mock'].image).toBe(`stripe/stripe-mock:${scriptSetting('STRIPE_MOCK_VERSION')}`);
    expect(compose.services.s3.image).toBe(`ghcr.io/versity/versitygw:${scriptSetting('S3_VERSION')}`);
    const kafkaVersion = kafkaPom.match(/<kafka.version>([^<]+)<\/kafka.version>/)?.[1];
    expect(compose.services.kafka.image).toBe(`apache/kafka:${kafkaVersion}`);
  });

  it('has the values services.sh writes to .services/env', () => {
    // the optional Jaeger's line (written only while it runs) is checked in the next test
    const written = Object.entries(scriptEnvLines()).filter(([name]) => name !== 'OTEL_EXPORTER_OTLP_ENDPOINT');
    expect(Object.fromEntries(written)).toEqual(gatewayEnv);
  });

  it('runs the secure profile (services.sh --secure) on the same ports, users and passwords', () => {
    const secure = read('scripts/services/secure.sh');
    const setting = (name: string) => secure.match(new RegExp(`^${name}=(\\S+)$`, 'm'))?.[1] ?? `(${name} unset)`;
    for (const [service, port] of [
      ['postgres-secure', 'SECURE_PG_PORT'],
      ['redis-secure', 'SECURE_REDIS_PORT'],
      ['kafka-secure', 'SECURE_KAFKA_PORT'],
    ]) {
      expect(compose.services[service].profiles).toEqual(['secure']);
      expect(publishedPorts(service)).toEqual([setting(port)]);
    }
    const password = setting('SECURE_PASSWORD');
    expect(compose.configs['postgres-secure-init'].content).toContain(`PASSWORD '${password}'`);
    expect(compose.services['redis-secure'].entrypoint.join(' ')).toContain(`'>${password}'`);
    const kafka = compose.services['kafka-secure'].entrypoint.join(' ');
    expect(kafka).toContain(`SCRAM-SHA-512=[name=tollgraph,password=${password}]`);
    expect(kafka).toContain(`SCRAM-SHA-512=[name=${setting('SECURE_KAFKA_ADMIN')},password=${setting('SECURE_KAFKA_ADMIN_PASSWORD')}]`);
    expect(compose.services['kafka-secure'].image).toBe(compose.services.kafka.image);
    // its optional Redis Cluster: TLS-only nodes from the secure profile's first port, the same user
    const first = Number(setting('SECURE_REDIS_CLUSTER_FIRST_PORT'));
    const ports = Array.from({ length: Number(scriptSetting('REDIS_CLUSTER_NODES')) }, (_, i) => String(first + i));
    expect(compose.services['redis-cluster-secure'].profiles).toEqual(['secure']);
    expect(publishedPorts('redis-cluster-secure')).toEqual(ports);
    const cluster = compose.services['redis-cluster-secure'].entrypoint.join(' ');
    expect(cluster).toContain(`for port in ${ports.join(' ')};`);
    expect(cluster).toContain(`--cluster-node-timeout ${scriptSetting('REDIS_CLUSTER_NODE_TIMEOUT_MS')}`);
    for (const flag of ['--port 0 --tls-port', '--tls-cluster yes', '--tls-replication yes', `'>${password}'`, `--masterauth ${password}`])
      expect(cluster).toContain(flag);
  });

  it('runs the optional Redis Cluster (profile cluster) on the nodes services.sh starts', () => {
    const first = Number(scriptSetting('REDIS_CLUSTER_FIRST_PORT'));
    const ports = Array.from({ length: Number(scriptSetting('REDIS_CLUSTER_NODES')) }, (_, i) => String(first + i));
    expect(compose.services['redis-cluster'].profiles).toEqual(['cluster']);
    expect(publishedPorts('redis-cluster')).toEqual(ports);
    const entrypoint = compose.services['redis-cluster'].entrypoint.join(' ');
    expect(entrypoint).toContain(`for port in ${ports.join(' ')};`);
    expect(entrypoint).toContain(`--cluster-node-timeout ${scriptSetting('REDIS_CLUSTER_NODE_TIMEOUT_MS')}`);
    const replicas = Number(scriptSetting('REDIS_CLUSTER_NODES')) / Number(scriptSetting('REDIS_CLUSTER_MASTERS')) - 1;
    expect(entrypoint).toContain(`--cluster-replicas ${replicas}`);
    expect(compose.services.redis.image).toBe(compose.services['redis-cluster'].image);
    // not exported by services.sh env (it excludes REDIS_URL), but documented for the gateway
    expect(Object.keys(envExample)).toContain('REDIS_CLUSTER_NODES');
  });

  it('runs the optional Jaeger (profile tracing) in the version and on the ports services.sh uses', () => {
    // one Jaeger release has two tags: the Go module's v1.x that services.sh builds and the v2.x
    // of the binary and the image, 63 minor versions apart (v1.63.0 = v2.0.0 ... v1.76.0 = v2.13.0)
    const [, minor, patch] = /^v1\.(\d+)\.(\d+)$/.exec(scriptSetting('JAEGER_VERSION')) ?? [];
    expect(minor).toBeDefined();
    expect(scriptSetting('JAEGER_IMAGE_VERSION')).toBe(`2.${Number(minor) - 63}.${patch}`);
    expect(compose.services.jaeger.image).toBe(`jaegertracing/jaeger:${scriptSetting('JAEGER_IMAGE_VERSION')}`);
    expect(compose.services.jaeger.profiles).toEqual(['tracing']);
    expect(publishedPorts('jaeger')).toEqual([
      scriptSetting('JAEGER_OTLP_HTTP_PORT'),
      scriptSetting('JAEGER_OTLP_GRPC_PORT'),
      scriptSetting('JAEGER_QUERY_PORT'),
    ]);
    expect(scriptEnvLines().OTEL_EXPORTER_OTLP_ENDPOINT).toBe(`http://127.0.0.1:${scriptSetting('JAEGER_OTLP_HTTP_PORT')}`);
    expect(Object.keys(envExample)).toContain('OTEL_EXPORTER_OTLP_ENDPOINT');
  });
});
