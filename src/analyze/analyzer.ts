/**
 * An analyzer looks across objects for config that is well-formed but wrong together (a route to a
 * host nobody serves), in the manner of `istioctl analyze`. Each one lives in its own file and only
 * reads the shared, prebuilt AnalysisContext.
 */
import type { AnalysisMessage } from '../config/messages.js';
import type { AnalysisContext } from './context.js';

export interface Analyzer {
  /** Stable identifier, e.g. `virtualservice.destinationhosts`, for docs and selective runs. */
  readonly name: string;
  /** One sentence for `docs/config.md` and `--list-analyzers` style output. */
  readonly description: string;
  analyze(ctx: AnalysisContext): AnalysisMessage[];
}
