/**
 * One typebox-compiled validator per schema, shared by the HTTP routes and the NATS handlers, so both
 * surfaces accept exactly the same bodies and fail with the same `InvalidRequest` message naming the field.
 */
import { Compile } from 'typebox/compile';
import type { Static, TSchema } from 'typebox';
import { ApiError, ConnectRequest, DockerExecutable, ProcessExecutable, imageReferenceProblem, isValidSubdomain } from '@jetplane/protocol';

/** Returns the value typed, or throws `ApiError('InvalidRequest')`. */
export type Validator<T> = (value: unknown) => T;

/** The part of a typebox error this module reads. */
export interface SchemaError {
  keyword: string;
  instancePath: string;
  message: string;
  params: object;
}

/** Checks the schema cannot express; returns a message naming the field, or undefined. */
type Refiner = (value: never) => string | undefined;


/** JSON pointer (`/spawn_config/executable/command/0`) → `spawn_config.executable.command[0]`. */
export function fieldName(pointer: string, prefix = ''): string {
  const parts = pointer
    .split('/')
    .slice(1)
    .map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
  let out = prefix;
  for (const p of parts) out += /^[0-9]+$/.test(p) ? `[${p}]` : out ? `.${p}` : p;
  return out;
}

function depth(pointer: string): number {
  return pointer === '' ? 0 : pointer.split('/').length - 1;
}

/**
 * The one error worth showing: union bookkeeping (`anyOf`, the `null` branch of nullable fields)
 * is noise, and the deepest remaining error names the field most precisely.
 */
export function describeErrors(errors: readonly SchemaError[], prefix = ''): string {
  const real = errors.filter((e) => e.keyword !== 'anyOf');
  const useful = real.filter((e) => !isNullBranch(e) || !real.some((o) => !isNullBranch(o) && within(o.instancePath, e.instancePath)));
  const candidates = useful.length > 0 ? useful : real.length > 0 ? real : errors;
  let best: SchemaError | undefined;
  for (const e of candidates) if (!best || depth(e.instancePath) > depth(best.instancePath)) best = e;
  if (!best) return `${prefix || 'body'}: is invalid`;
  const field = fieldName(best.instancePath, prefix);
  const join = (child: string): string => (field ? `${field}.${child}` : child);
  if (best.keyword === 'required') {
    const missing = (best.params as { requiredProperties?: string[] }).requiredProperties ?? [];
    return `${join(missing.join(', ') || '?')}: is required`;
  }
  if (best.keyword === 'additionalProperties') {
    const extra = (best.params as { additionalProperties?: string[] }).additionalProperties ?? [];
    // `env` has no fixed fields: an extra property there is a name that fails ENV_NAME_PATTERN.
    const what = field.endsWith('.env') ? 'is not a valid environment variable name' : 'is not an allowed field';
    return `${join(extra[0] ?? '?')}: ${what}`;
  }
  return `${field || 'body'}: ${best.message}`;
}

function within(path: string, parent: string): boolean {
  return path === parent || path.startsWith(`${parent}/`);
}

function isNullBranch(e: SchemaError): boolean {
  return e.keyword === 'type' && (e.params as { type?: unknown }).type === 'null';
}

const compiled = new WeakMap<TSchema, Validator<unknown>>();
const refiners = new Map<TSchema, Refiner>();

/** The cached validator of `schema` (compiled once per process). */
export function validatorFor<S extends TSchema>(schema: S): Validator<Static<S>> {
  let validator = compiled.get(schema);
  if (!validator) {
    const check = Compile(schema);
    validator = (value: unknown) => {
      if (!check.Check(value)) {
        const message = explainFailure(schema, value) ?? describeErrors(check.Errors(value));
        throw new ApiError('InvalidRequest', message);
      }
      const refined = (refiners.get(schema) as ((v: unknown) => string | undefined) | undefined)?.(value);
      if (refined) throw new ApiError('InvalidRequest', refined);
      return value;
    };
    compiled.set(schema, validator);
  }
  return validator as Validator<Static<S>>;
}

/** Fastify `validatorCompiler` using the same validators (the error reaches the error handler as an ApiError). */
export function typeboxValidatorCompiler({ schema }: { schema: unknown }): (data: unknown) => { value?: unknown; error?: Error } {
  const validate = validatorFor(schema as TSchema);
  return (data) => {
    try {
      return { value: validate(data) };
    } catch (err) {
      return { error: err as Error };
    }
  };
}

// ---- connect requests: executable union and checks the schema cannot express ----

const processCheck = Compile(ProcessExecutable);
const dockerCheck = Compile(DockerExecutable);
const EXECUTABLE_FIELD = 'spawn_config.executable';

function asObject(value: unknown): Record<string, unknown> | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
}

/**
 * A failing executable is judged against the branch its shape selects (`command` → process,
 * `image` → docker), so the message is about that branch rather than "must match anyOf".
 */
function explainExecutable(executable: unknown): string | undefined {
  const exe = asObject(executable);
  if (!exe) return `${EXECUTABLE_FIELD}: must be an object`;
  if ('image' in exe) return dockerCheck.Check(exe) ? undefined : describeErrors(dockerCheck.Errors(exe), EXECUTABLE_FIELD);
  if ('command' in exe) return processCheck.Check(exe) ? undefined : describeErrors(processCheck.Errors(exe), EXECUTABLE_FIELD);
  return `${EXECUTABLE_FIELD}: must have "command" (process executable) or "image" (docker executable)`;
}

function explainFailure(schema: TSchema, value: unknown): string | undefined {
  if (schema !== ConnectRequest) return undefined;
  const spawn = asObject(asObject(value)?.spawn_config);
  return spawn && 'executable' in spawn ? explainExecutable(spawn.executable) : undefined;
}

function refineConnect(req: ConnectRequest): string | undefined {
  const spawn = req.spawn_config;
  if (!spawn) return undefined;
  // Plane accepts any subdomain on the wire; a bad one would only fail later at the proxy.
  if (spawn.subdomain != null && !isValidSubdomain(spawn.subdomain)) {
    return 'spawn_config.subdomain: must be letters, digits and dashes, not starting or ending with a dash';
  }
  if ('image' in spawn.executable) {
    const problem = imageReferenceProblem(spawn.executable.image);
    if (problem) return `${EXECUTABLE_FIELD}.image: ${problem}`;
  }
  return undefined;
}
refiners.set(ConnectRequest, refineConnect as Refiner);

export const validateConnectRequest = validatorFor(ConnectRequest);
