/** The `--state-dir` option every local-mesh command shares, so they all find the same running mesh. */
import type { Command } from 'commander';
import { defaultStateDir } from '../mesh/state.js';

export function withStateDir(cmd: Command): Command {
  return cmd.option('--state-dir <dir>', 'where the running mesh keeps its state (default: $SAILFIN_STATE_DIR, /run/sailfin as root)', defaultStateDir());
}
