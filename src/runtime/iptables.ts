/**
 * Turning a CaptureRuleSet into iptables-restore text, and applying or removing it in a network
 * namespace. Everything goes through iptables-restore in one transaction per family, so a pod's
 * capture is either fully in place or not at all: a half-applied rule set (say, outbound captured but
 * the proxy's UID not yet exempt) would loop the proxy's own traffic back to itself.
 */
import { CHAIN, type CaptureRuleSet, type IpFamily, type Table } from './capture-rules.js';
import { run } from './exec.js';

const TABLES: Table[] = ['raw', 'nat'];
/** Every chain name Sailfin may create; cleanup removes these and nothing else. */
export const SAILFIN_CHAINS: readonly string[] = Object.values(CHAIN);

function tool(family: IpFamily, what: 'restore' | 'save'): string {
  return `${family === 6 ? 'ip6tables' : 'iptables'}-${what}`;
}

/** The rule set in iptables-save format (what `sailfin iptables --dry-run` prints). */
export function renderRestore(set: CaptureRuleSet): string {
  const out: string[] = [];
  for (const table of TABLES) {
    const rules = set.rules.filter((r) => r.table === table);
    if (rules.length === 0 && set.chains[table].length === 0) continue;
    out.push(`*${table}`);
    for (const chain of set.chains[table]) out.push(`:${chain} - [0:0]`);
    for (const r of rules) out.push(`-A ${r.chain} ${r.args.join(' ')}`);
    out.push('COMMIT');
  }
  return `${out.join('\n')}\n`;
}

interface TableState {
  /** User chains present in the table. */
  chains: Set<string>;
  /** `-A CHAIN …` lines as iptables-save prints them. */
  rules: string[];
}

function parseSave(text: string): Map<string, TableState> {
  const tables = new Map<string, TableState>();
  let current: TableState | undefined;
  for (const line of text.split('\n')) {
    if (line.startsWith('*')) {
      current = { chains: new Set(), rules: [] };
      tables.set(line.slice(1).trim(), current);
    } else if (current && line.startsWith(':')) {
      current.chains.add(line.slice(1).split(' ')[0]);
    } else if (current && line.startsWith('-A ')) {
      current.rules.push(line);
    }
  }
  return tables;
}

/** The jump target of a saved rule line (`-j X` or `-g X`), if any. */
function jumpTarget(line: string): string | undefined {
  return /\s-[jg]\s+(\S+)/.exec(line)?.[1];
}

/**
 * iptables-restore text that removes Sailfin's chains and every jump into them from `saved` (the
 * output of iptables-save), leaving all other rules alone. Empty when there is nothing to remove.
 */
export function renderCleanup(saved: string): string {
  const out: string[] = [];
  const ours = new Set(SAILFIN_CHAINS);
  for (const [table, state] of parseSave(saved)) {
    const present = [...state.chains].filter((c) => ours.has(c));
    const jumps = state.rules.filter((line) => {
      const chain = line.split(/\s+/)[1];
      const target = jumpTarget(line);
      return !ours.has(chain) && target !== undefined && ours.has(target);
    });
    if (present.length === 0 && jumps.length === 0) continue;
    out.push(`*${table}`);
    for (const line of jumps) out.push(`-D ${line.slice(3)}`);
    for (const chain of present) out.push(`-F ${chain}`);
    for (const chain of present) out.push(`-X ${chain}`);
    out.push('COMMIT');
  }
  return out.length ? `${out.join('\n')}\n` : '';
}

export interface NetnsTarget {
  /** Network namespace to act in; the current one when undefined (the Kubernetes init container). */
  netns?: string;
}

/** Removes Sailfin's chains (and jumps to them) for one family. Returns true when something was removed. */
export async function removeCaptureRules(family: IpFamily, target: NetnsTarget = {}): Promise<boolean> {
  const saved = await run([tool(family, 'save')], { netns: target.netns });
  const cleanup = renderCleanup(saved.stdout);
  if (!cleanup) return false;
  await run([tool(family, 'restore'), '--noflush'], { netns: target.netns, input: cleanup });
  return true;
}

/**
 * Replaces whatever capture rules the namespace has with `set`. Rules of other programs stay: only
 * Sailfin's chains are removed before the new ones are added, so applying twice is harmless.
 */
export async function applyCaptureRules(set: CaptureRuleSet, target: NetnsTarget = {}): Promise<void> {
  await removeCaptureRules(set.family, target);
  await run([tool(set.family, 'restore'), '--noflush'], { netns: target.netns, input: renderRestore(set) });
}
