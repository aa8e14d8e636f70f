/** Where the project's own commands are, for the processes the local mesh starts in pods. */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository (or installed package) root: this file is dist/src/mesh/paths.js. */
export const PACKAGE_ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
export const SAILFIN_BIN = join(PACKAGE_ROOT, 'bin', 'sailfin');

/** PATH for pod processes: the project's bin/ first, so manifests can run `sailfin-sample …`. */
export function podPath(): string {
  return [join(PACKAGE_ROOT, 'bin'), process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin'].join(':');
}
