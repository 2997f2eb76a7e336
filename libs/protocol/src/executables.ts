/** Executor configurations (`spawn_config.executable`), selected by shape. */
import { Type, type Static } from 'typebox';

/** Environment variable names a shell accepts; `patternProperties` so validators enforce the name rule. */
export const ENV_NAME_PATTERN = '^[A-Za-z_][A-Za-z0-9_]*$';
const Env = Type.Unsafe<Record<string, string>>({
  type: 'object',
  patternProperties: { [ENV_NAME_PATTERN]: { type: 'string' } },
  additionalProperties: false,
  description: 'Environment variables for the backend',
});

export const ProcessExecutable = Type.Object(
  {
    command: Type.Array(Type.String({ minLength: 1 }), { minItems: 1, description: 'argv; the first item is the program' }),
    cwd: Type.Optional(Type.String({ minLength: 1 })),
    env: Type.Optional(Env),
  },
  { additionalProperties: false },
);
export type ProcessExecutable = Static<typeof ProcessExecutable>;

export const PullPolicy = Type.Union([Type.Literal('IfNotPresent'), Type.Literal('Always'), Type.Literal('Never')]);

export const DockerExecutable = Type.Object(
  {
    image: Type.String({ minLength: 1 }),
    pull_policy: Type.Optional(PullPolicy),
    credentials: Type.Optional(
      Type.Object({ username: Type.String(), password: Type.String() }, { additionalProperties: false }),
    ),
    env: Type.Optional(Env),
    resource_limits: Type.Optional(
      Type.Object(
        {
          cpu_period: Type.Optional(Type.Integer({ minimum: 1000, maximum: 1_000_000 })),
          cpu_period_percent: Type.Optional(Type.Integer({ minimum: 1, maximum: 255 })),
          cpu_time_limit: Type.Optional(Type.Integer({ minimum: 1 })),
          memory_limit_bytes: Type.Optional(Type.Integer({ minimum: 6 * 1024 * 1024 })),
          disk_limit_bytes: Type.Optional(Type.Integer({ minimum: 1 })),
        },
        { additionalProperties: false },
      ),
    ),
    mount: Type.Optional(Type.Union([Type.Boolean(), Type.String({ pattern: '^(?!/)(?!.*(^|/)\\.\\.?(/|$)).+$' })])),
    network_name: Type.Optional(Type.String({ minLength: 1 })),
  },
  { additionalProperties: false },
);
export type DockerExecutable = Static<typeof DockerExecutable>;

export const Executable = Type.Union([ProcessExecutable, DockerExecutable]);
export type Executable = Static<typeof Executable>;

export const EXECUTOR_KINDS = ['process', 'docker'] as const;
export type ExecutorKind = (typeof EXECUTOR_KINDS)[number];

export function executorKindOf(executable: Executable): ExecutorKind {
  return 'image' in executable ? 'docker' : 'process';
}

// ---- Docker image references (distribution/reference grammar) ----

const ALNUM = '[a-z0-9]+';
const PATH_COMPONENT = `${ALNUM}(?:(?:[._]|__|-+)${ALNUM})*`;
const DOMAIN_COMPONENT = '(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])';
const DOMAIN = `${DOMAIN_COMPONENT}(?:\\.${DOMAIN_COMPONENT})*(?::[0-9]+)?`;
const NAME = `(?:${DOMAIN}/)?${PATH_COMPONENT}(?:/${PATH_COMPONENT})*`;
const TAG = '[\\w][\\w.-]{0,127}';
const DIGEST = '[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}';
const IMAGE_REFERENCE_RE = new RegExp(`^(${NAME})(?::${TAG})?(?:@${DIGEST})?$`);
const MAX_IMAGE_NAME_LENGTH = 255;

/**
 * Why `image` is not a reference Docker would accept (`name[:tag][@digest]`), or undefined when it is.
 * Checked at connect so a typo is a 400, not a backend that fails on its drone.
 */
export function imageReferenceProblem(image: string): string | undefined {
  const match = IMAGE_REFERENCE_RE.exec(image);
  if (!match) return 'is not a valid image reference (expected name[:tag][@digest], lowercase name)';
  if ((match[1] ?? '').length > MAX_IMAGE_NAME_LENGTH) return `image name is longer than ${MAX_IMAGE_NAME_LENGTH} characters`;
  return undefined;
}
