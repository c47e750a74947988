import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { parse } from 'yaml';

/**
 * docs/openapi.yaml as a checker of real responses: every status a route answers must be one the
 * document lists for it, and every body must match that status's schema.
 */
interface Operation {
  responses: Record<string, ResponseObject | { $ref: string }>;
}
interface ResponseObject {
  content?: Record<string, { schema: unknown }>;
}
export interface OpenApiDocument {
  paths: Record<string, Record<string, Operation | unknown>>;
  components: { responses: Record<string, ResponseObject> };
}

export const OPENAPI_FILE = join(import.meta.dirname, '..', '..', 'docs', 'openapi.yaml');
export const openApi = parse(readFileSync(OPENAPI_FILE, 'utf8')) as OpenApiDocument;

const HTTP_METHODS = new Set(['get', 'put', 'post', 'delete', 'patch', 'head', 'options']);

/** Every `METHOD /path` the document describes. */
export const documentedRoutes = (): string[] =>
  Object.entries(openApi.paths).flatMap(([path, item]) =>
    Object.keys(item)
      .filter((key) => HTTP_METHODS.has(key))
      .map((method) => `${method.toUpperCase()} ${path}`),
  );

// ajv-formats is CommonJS with a default export; under NodeNext its type is the module object.
const addFormats = addFormatsModule as unknown as (ajv: Ajv2020) => Ajv2020;
const ajv = addFormats(new Ajv2020({ strict: false, allErrors: true }));
ajv.addSchema(openApi, 'openapi');

const pointer = (...parts: string[]): string =>
  `openapi#/${parts.map((p) => p.replace(/~/g, '~0').replace(/\//g, '~1')).join('/')}`;

/** Which documented path a concrete path is, e.g. /files/abc/reprocess → /files/{fileId}/reprocess. */
export const templateOf = (path: string): string | undefined =>
  openApi.paths[path] !== undefined
    ? path
    : Object.keys(openApi.paths).find((template) => {
        const pattern = template.replace(/\{[^}]+\}/g, '[^/]+');
        return new RegExp(`^${pattern}$`).test(path);
      });

/**
 * The problems of one response against the document: an empty list when it matches.
 * `path` is the path after the stage, such as `/files/123`.
 */
export const responseProblems = (
  method: string,
  path: string,
  status: number,
  body: unknown,
): string[] => {
  const template = templateOf(path);
  if (!template) return [`${path} is not a path of docs/openapi.yaml`];
  const operation = openApi.paths[template]?.[method.toLowerCase()] as Operation | undefined;
  if (!operation) return [`${method} ${template} is not in docs/openapi.yaml`];
  const declared = operation.responses[String(status)];
  if (!declared) {
    return [
      `${method} ${template} answered ${status}, which the document does not list (${Object.keys(operation.responses).join(', ')})`,
    ];
  }
  const response =
    '$ref' in declared
      ? openApi.components.responses[declared.$ref.split('/').pop() ?? '']
      : (declared as ResponseObject);
  if (!response?.content) {
    return body === '' || body === undefined || body === null
      ? []
      : [`${method} ${template} ${status} has no body in the document, but one came`];
  }
  const schemaRef =
    '$ref' in declared
      ? pointer('components', 'responses', declared.$ref.split('/').pop() ?? '')
      : pointer('paths', template, method.toLowerCase(), 'responses', String(status));
  const validate = ajv.getSchema(`${schemaRef}/content/application~1json/schema`);
  if (!validate) return [`no schema at ${schemaRef}`];
  if (validate(body)) return [];
  return (validate.errors ?? []).map(
    (e) => `${method} ${template} ${status}: ${e.instancePath || '(body)'} ${e.message}`,
  );
};

/**
 * Checks a handler's response (a unit test's real response) against the document and returns
 * it, so a test can wrap its handler calls.
 */
export const documented = <T extends { statusCode: number; body: string }>(
  event: { httpMethod: string; path: string; resource?: string },
  response: T,
): T => {
  const body = response.body === '' ? '' : (JSON.parse(response.body) as unknown);
  // API Gateway's resource is the route's template; the path may hold anything a client sent.
  const route = event.resource ?? event.path;
  const problems = responseProblems(event.httpMethod, route, response.statusCode, body);
  if (problems.length > 0) {
    throw new Error(`The response does not match docs/openapi.yaml:\n${problems.join('\n')}`);
  }
  return response;
};
