/** Starts a sample app as a real process through bin/sailfin-sample and waits for the port it bound. */
import { spawn, type ChildProcess } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
export const SAMPLE_BIN = join(ROOT, 'bin', 'sailfin-sample');

export interface RunningSample {
  proc: ChildProcess;
  ports: number[];
  output(): string;
  stop(): Promise<void>;
}

export function startSample(app: string, args: string[], env: Record<string, string>, expectPorts = 1): Promise<RunningSample> {
  const proc = spawn(process.execPath, [SAMPLE_BIN, app, ...args], {
    env: { ...process.env, PORT: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const ports: number[] = [];
  const stop = () =>
    new Promise<void>((resolve) => {
      if (proc.exitCode !== null || proc.signalCode !== null) return resolve();
      proc.once('exit', () => resolve());
      proc.kill('SIGKILL');
    });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      void stop();
      reject(new Error(`${app} did not start within 10 s; output: ${out}`));
    }, 10_000);
    const onData = (chunk: Buffer) => {
      out += chunk.toString();
      for (const m of chunk.toString().matchAll(/listening on (\d+)/g)) ports.push(Number(m[1]));
      if (ports.length >= expectPorts) {
        clearTimeout(timer);
        resolve({ proc, ports, output: () => out, stop });
      }
    };
    proc.stdout!.on('data', onData);
    proc.stderr!.on('data', (c: Buffer) => (out += c.toString()));
    proc.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${app} exited with ${code}: ${out}`));
    });
  });
}

export async function get(url: string, headers: Record<string, string> = {}): Promise<{ status: number; body: string; headers: Headers; ms: number }> {
  const started = Date.now();
  const res = await fetch(url, { headers, redirect: 'manual' });
  const body = await res.text();
  return { status: res.status, body, headers: res.headers, ms: Date.now() - started };
}
