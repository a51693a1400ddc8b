/**
 * The registry's own error contract (Confluent Schema Registry's REST API, docs/contract.md):
 * an HTTP status and a body `{ error_code, message }`, where `error_code` is the status or the
 * status followed by two digits. Clients such as @kafkajs/confluent-schema-registry branch on the
 * status; tooling reads `error_code`.
 */
export class RegistryError extends Error {
  constructor(
    readonly status: number,
    readonly errorCode: number,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'RegistryError';
  }

  get body(): { error_code: number; message: string } {
    return { error_code: this.errorCode, message: this.message };
  }
}

export const subjectNotFound = (subject: string) => new RegistryError(404, 40401, `Subject '${subject}' not found.`);
export const versionNotFound = (version: number | string) => new RegistryError(404, 40402, `Version ${version} not found.`);
export const schemaNotFound = (id?: number) => new RegistryError(404, 40403, id === undefined ? 'Schema not found' : `Schema ${id} not found`);
export const subjectConfigNotFound = (subject: string) =>
  new RegistryError(404, 40408, `Subject '${subject}' does not have subject-level compatibility configured`);
export const incompatibleSchema = (message: string) => new RegistryError(409, 409, message);
export const invalidSchema = (message: string) => new RegistryError(422, 42201, `Invalid schema: ${message}`);
export const invalidVersion = (version: string) =>
  new RegistryError(422, 42202, `The specified version '${version}' is not a valid version id. Allowed values are between [1, 2^31-1] and the string "latest"`);
export const invalidCompatibility = (level: unknown) =>
  new RegistryError(
    422,
    42203,
    `Invalid compatibility level ${JSON.stringify(level)}. Valid values are NONE, BACKWARD, FORWARD, FULL, BACKWARD_TRANSITIVE, FORWARD_TRANSITIVE and FULL_TRANSITIVE.`,
  );
export const invalidSubject = (subject: string) => new RegistryError(422, 42208, `The specified subject '${subject.slice(0, 300)}' is not valid.`);
export const schemaTooLarge = (max: number) => new RegistryError(422, 42209, `Schema is larger than ${max} bytes.`);
