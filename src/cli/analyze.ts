/**
 * `sailfin analyze -f PATH… [-o text|json|yaml]`: validates config the way `istioctl analyze` does and
 * prints one line per finding (`Error [IST0101] (VirtualService default/reviews reviews.yaml:12
 * spec.http[0].route[0].destination.host) Referenced host not found: "reviewz"`). Exits 1 when any
 * finding is an Error, so it can gate a CI pipeline; never prints a stack trace for bad input.
 */
import { InvalidArgumentError, type Command } from 'commander';
import { stringify as toYaml } from 'yaml';
import { DEFAULT_MAX_FILE_BYTES, DEFAULT_MAX_FILES, loadPaths, loadTexts } from '../config/loader.js';
import { MessageTypes, formatMessage, hasErrors, messageToJson, sortMessages, type AnalysisMessage } from '../config/messages.js';
import type { LoadedResource } from '../config/resource.js';
import { analyzeResources } from '../analyze/runner.js';
import { positiveNumber } from './positive-number.js';

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

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

export function register(program: Command): void {
  program
    .command('analyze')
    .description('validate Kubernetes and Istio config files like istioctl analyze (exit 1 on any error)')
    .requiredOption('-f, --filename <path>', 'a file or directory of YAML/JSON manifests, or - for standard input (repeatable)', collect, [])
    .option('-o, --output <format>', 'text, json or yaml', outputFormat, 'text')
    .option('--max-file-mb <mb>', 'largest single file to read, in MiB', positiveNumber, DEFAULT_MAX_FILE_BYTES / (1024 * 1024))
    .option('--max-files <n>', 'most files to read in one run', positiveNumber, DEFAULT_MAX_FILES)
    .action(async (opts: AnalyzeCliOptions) => {
      const maxFileBytes = Math.floor(opts.maxFileMb * 1024 * 1024);
      const paths = opts.filename.filter((p) => p !== '-');
      const loaded = await loadPaths(paths, { maxFileBytes, maxFiles: Math.floor(opts.maxFiles) });
      const resources: LoadedResource[] = [...loaded.resources];
      const loadMessages: AnalysisMessage[] = [...loaded.messages];
      let fileCount = loaded.files.length;
      if (paths.length !== opts.filename.length) {
        const stdin = await readStdin(maxFileBytes);
        if (typeof stdin === 'string') {
          const fromStdin = loadTexts([{ file: '<stdin>', text: stdin }]);
          resources.push(...fromStdin.resources);
          loadMessages.push(...fromStdin.messages);
          fileCount++;
        } else loadMessages.push(stdin);
      }
      const messages = sortMessages([...loadMessages, ...analyzeResources(resources)]);
      const what = `${fileCount} file${fileCount === 1 ? '' : 's'}`;
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

/** All of standard input as text, or a message when it is larger than one config file may be. */
async function readStdin(maxBytes: number): Promise<string | AnalysisMessage> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of process.stdin) {
    size += (chunk as Buffer).length;
    if (size > maxBytes) {
      process.stdin.destroy();
      return { type: MessageTypes.FileError, message: `standard input is larger than the ${(maxBytes / (1024 * 1024)).toFixed(1)} MiB limit for one config file`, location: { file: '<stdin>' } };
    }
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}
