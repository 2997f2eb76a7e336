/** Names that cannot collide between tests or runs. */
import { randomString } from '@jetplane/protocol';

/** `<prefix>-<10 random [a-z0-9]>`, valid as a key name, pool or id. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${randomString(10)}`;
}
