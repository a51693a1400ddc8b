import express, { Router, type ErrorRequestHandler, type NextFunction, type Request, type RequestHandler, type Response } from 'express';
import { GraphQLError } from 'graphql';
import { httpHeadOf } from '../../errors';
import { requestLogger } from '../../ops/request-log';
import { RegistryError, schemaNotFound, invalidVersion } from './errors';
import type { RegistryReader, SchemaRegistry } from './service';

/** Where the gateway mounts the registry. */
export const REGISTRY_PATH = '/registry';
/** A request body larger than this is refused (413) before it is read in full: a schema is at most 64 KiB, escaped once more in the body. */
export const REGISTRY_MAX_BODY_BYTES = 192 * 1024;

const MEDIA_TYPES = ['application/vnd.schemaregistry.v1+json', 'application/vnd.schemaregistry+json', 'application/json'];
const INT32_MAX = 2 ** 31 - 1;

/** A route parameter (express decodes them; the registry's have one value each). */
const param = (req: Request, name: string): string => String(req.params[name]);

const fail = (status: number, message: string, errorCode = status) => new RegistryError(status, errorCode, message);

/** Who is calling, as decided before the body (gateway/http.ts `callerBeforeBody`); every route needs a key. */
function readerOf(res: Response): RegistryReader {
  const viewer = res.locals.auth?.viewer;
  if (!viewer)
    throw fail(401, 'Unauthorized: send an API key as "Authorization: Bearer <key>", "x-api-key: <key>" or as the password of HTTP Basic authentication.');
  return { admin: viewer.key.role === 'ADMIN', plan: viewer.access.plan.code };
}

/**
 * Registry clients authenticate with HTTP Basic (e.g. @kafkajs/confluent-schema-registry's
 * `auth: { username, password }`): the password is the API key, the user name is ignored. Turned
 * into the Bearer form the gateway's key check reads, before that check; nothing else changes.
 */
export const basicAuthAsKey: RequestHandler = (req, _res, next) => {
  const basic = req.headers.authorization?.match(/^Basic\s+([A-Za-z0-9+/=]+)\s*$/i)?.[1];
  if (basic) {
    const decoded = Buffer.from(basic, 'base64').toString('utf8');
    const key = decoded.slice(decoded.indexOf(':') + 1);
    req.headers.authorization = key ? `Bearer ${key}` : 'Basic';
  }
  next();
};

/** Writes need an ADMIN key: refused before the body is read. */
const adminOnly: RequestHandler = (_req, res, next) => {
  if (!readerOf(res).admin) throw fail(403, 'User is denied operation Write: registering schemas and setting compatibility need an ADMIN key.', 40301);
  next();
};

/** The body, bounded, once the caller is known; a media type other than the registry's or JSON is refused unread. */
const body: RequestHandler[] = [
  (req, _res, next) => {
    if (!req.is(MEDIA_TYPES)) throw fail(415, `Content-Type must be one of ${MEDIA_TYPES.join(', ')}.`);
    next();
  },
  express.json({ type: MEDIA_TYPES, limit: REGISTRY_MAX_BODY_BYTES }),
  (req, _res, next) => {
    if (typeof req.body !== 'object' || req.body === null || Array.isArray(req.body)) throw fail(400, 'The request body must be a JSON object.');
    next();
  },
];

/** The Avro schema of a body `{ schema, schemaType?, references? }`; other schema types and references are not served. */
function schemaOf(req: Request): string {
  const { schema, schemaType, references } = req.body as { schema?: unknown; schemaType?: unknown; references?: unknown };
  if (schemaType !== undefined && schemaType !== 'AVRO')
    throw new RegistryError(422, 42201, `Invalid schema: schemaType ${JSON.stringify(schemaType)} is not supported; this registry serves AVRO.`);
  if (Array.isArray(references) && references.length) throw new RegistryError(422, 42201, 'Invalid schema: schema references are not supported.');
  if (typeof schema !== 'string') throw new RegistryError(422, 42201, 'Invalid schema: "schema" must be the schema as a JSON string.');
  return schema;
}

function versionOf(text: string): number | 'latest' {
  if (text === 'latest' || text === '-1') return 'latest';
  const version = /^[1-9][0-9]{0,9}$/.test(text) ? Number(text) : NaN;
  if (!(version <= INT32_MAX)) throw invalidVersion(text);
  return version;
}

function idOf(text: string): number {
  const id = /^[1-9][0-9]{0,9}$/.test(text) ? Number(text) : NaN;
  if (!(id <= INT32_MAX)) throw schemaNotFound();
  return id;
}

/** Answers in the media type the client accepts, the registry's own by default. */
function send(req: Request, res: Response, value: unknown, status = 200): void {
  res
    .status(status)
    .type(req.accepts(MEDIA_TYPES) || MEDIA_TYPES[0])
    .send(JSON.stringify(value));
}

/**
 * The Confluent Schema Registry REST API, for what clients such as
 * @kafkajs/confluent-schema-registry use (docs/contract.md): subjects, versions, look-up, schemas
 * by id, compatibility configuration and tests. Reads need a key whose plan may use the subject's
 * data product (ADMIN keys read everything); writes need an ADMIN key. The caller was identified
 * before this router, from the headers alone (gateway/http.ts).
 */
export function registryRoutes(registry: SchemaRegistry): Router {
  const router = Router();
  const reader = (res: Response) => readerOf(res);
  router.use((_req, res, next) => {
    readerOf(res);
    next();
  });

  router.get('/subjects', async (req, res) => send(req, res, await registry.subjects(reader(res))));
  router.get('/subjects/:subject/versions', async (req, res) => send(req, res, await registry.versions(reader(res), param(req, 'subject'))));
  router.post('/subjects/:subject/versions', adminOnly, ...body, async (req, res) => {
    const { id } = await registry.register(param(req, 'subject'), schemaOf(req));
    send(req, res, { id });
  });
  router.get('/subjects/:subject/versions/:version', async (req, res) =>
    send(req, res, await registry.version(reader(res), param(req, 'subject'), versionOf(param(req, 'version')))),
  );
  router.get('/subjects/:subject/versions/:version/schema', async (req, res) => {
    const { schema } = await registry.version(reader(res), param(req, 'subject'), versionOf(param(req, 'version')));
    res
      .status(200)
      .type(req.accepts(MEDIA_TYPES) || MEDIA_TYPES[0])
      .send(schema);
  });
  router.post('/subjects/:subject', ...body, async (req, res) => send(req, res, await registry.lookup(reader(res), param(req, 'subject'), schemaOf(req))));
  router.get('/schemas/ids/:id', async (req, res) => send(req, res, { schema: await registry.schemaById(reader(res), idOf(param(req, 'id'))) }));
  router.post('/compatibility/subjects/:subject/versions/:version', ...body, async (req, res) => {
    const version = versionOf(param(req, 'version'));
    send(req, res, await registry.testCompatibility(reader(res), param(req, 'subject'), version, schemaOf(req)));
  });
  router.get('/config', async (req, res) => send(req, res, { compatibilityLevel: await registry.globalCompatibility() }));
  router.put('/config', adminOnly, ...body, async (req, res) =>
    send(req, res, { compatibility: await registry.setCompatibility((req.body as { compatibility?: unknown }).compatibility) }),
  );
  router.get('/config/:subject', async (req, res) => {
    const level = await registry.subjectCompatibility(reader(res), param(req, 'subject'), req.query.defaultToGlobal === 'true');
    send(req, res, { compatibilityLevel: level });
  });
  router.put('/config/:subject', adminOnly, ...body, async (req, res) =>
    send(req, res, { compatibility: await registry.setCompatibility((req.body as { compatibility?: unknown }).compatibility, param(req, 'subject')) }),
  );
  router.use((_req: Request, _res: Response, next: NextFunction) => next(fail(404, 'HTTP 404 Not Found', 404)));
  return router;
}

/**
 * Every refusal under the registry's path in the registry's body shape `{ error_code, message }`:
 * its own errors, the gateway's refusals before the body (401 unknown key, 403 as 40301, 429, 503
 * overloaded, with their headers), body errors (413, 400) and bugs (500, logged).
 */
export const registryErrors: ErrorRequestHandler = (error: unknown, req, res, _next) => {
  let refusal: RegistryError;
  if (error instanceof RegistryError) refusal = error;
  else if (error instanceof GraphQLError) {
    const { status, headers } = httpHeadOf(error);
    refusal = new RegistryError(status, status === 403 ? 40301 : status, error.message, Object.fromEntries(headers));
  } else {
    const { status, type } = error as { status?: number; type?: string };
    if (type === 'entity.too.large') refusal = fail(413, `The request body is larger than ${REGISTRY_MAX_BODY_BYTES} bytes.`);
    else if (status && status >= 400 && status < 500) refusal = fail(400, `The request body could not be read: ${(error as Error).message}.`);
    else {
      requestLogger(req).error({ err: error }, 'unexpected error answering a schema registry request');
      refusal = fail(500, 'Internal server error', 50001);
    }
  }
  for (const [name, value] of Object.entries(refusal.headers)) res.setHeader(name, value);
  send(req, res, refusal.body, refusal.status);
};
