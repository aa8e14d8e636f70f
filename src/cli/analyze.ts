/**
 * `sailfin analyze -f PATH… [-o text|json|yaml]`: validates config the way `istioctl analyze` does and
 * prints one line per finding (`Error [IST0101] (VirtualService default/reviews reviews.yaml:12
 * spec.http[0].route[0].destination.host) Referenced host not found: "reviewz"`). Exits 1 when any
 * finding is an Error, so it can gate a CI pipeline; never prints a stack trace for bad input.
 */
import { InvalidArgumentError, type Command } from 'commander';
import { stringify as toYaml } from 'yaml';
import { DEFAULT_MAX_FILE_BYTES, DEFAULT_MAX_FILES, loadPaths } from '../config/loader.js';
import { formatMessage, hasErrors, messageToJson, sortMessages } from '../config/messages.js';
import { analyzeResources } from '../analyze/runner.js';

type OutputFormat = 'text' | 'json' | 'yaml';

interface AnalyzeCliOptions {
  filename: string[];
  output: OutputFormat;
  maxFileMb: number;
  maxFiles: number;
}

function outputFormat(value: string): OutputFormat {
  if (value === 'text' || value === 'json' || value === 'yaml') return value;
  throw new InvalidArgumentError('must be text, json or yaml');
}

function positive(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('must be a positive number');
  return n;
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

export function register(program: Command): void {
  program
    .command('analyze')
    .description('validate Kubernetes and Istio config files like istioctl analyze (exit 1 on any error)')
    .requiredOption('-f, --filename <path>', 'a file or directory of YAML/JSON manifests (repeatable)', collect, [])
    .option('-o, --output <format>', 'text, json or yaml', outputFormat, 'text')
    .option('--max-file-mb <mb>', 'largest single file to read, in MiB', positive, DEFAULT_MAX_FILE_BYTES / (1024 * 1024))
    .option('--max-files <n>', 'most files to read in one run', positive, DEFAULT_MAX_FILES)
    .action(async (opts: AnalyzeCliOptions) => {
      const loaded = await loadPaths(opts.filename, { maxFileBytes: Math.floor(opts.maxFileMb * 1024 * 1024), maxFiles: Math.floor(opts.maxFiles) });
      const messages = sortMessages([...loaded.messages, ...analyzeResources(loaded.resources)]);
      const what = `${loaded.files.length} file${loaded.files.length === 1 ? '' : 's'}`;
      if (opts.output === 'json') process.stdout.write(`${JSON.stringify(messages.map(messageToJson), null, 2)}\n`);
      else if (opts.output === 'yaml') process.stdout.write(toYaml(messages.map(messageToJson)));
      else if (messages.length === 0) process.stdout.write(`\u2714 No validation issues found when analyzing ${what}.\n`);
      else process.stdout.write(`${messages.map(formatMessage).join('\n')}\n`);
      if (hasErrors(messages)) {
        if (opts.output === 'text') process.stderr.write(`Error: Analyzers found issues when analyzing ${what}.\n`);
        process.exitCode = 1;
      }
    });
}
