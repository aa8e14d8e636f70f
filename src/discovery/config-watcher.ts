/**
 * Watches the manifest paths and reports when something under them changed, coalescing the bursts an
 * editor or `cp -r` produces into one reload.
 */
import { watch, type FSWatcher } from 'node:fs';
import { stat } from 'node:fs/promises';
import { dirname } from 'node:path';

export class ConfigWatcher {
  private watchers: FSWatcher[] = [];
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly paths: readonly string[],
    private readonly onChange: () => void,
    // Editors and `cp -r` finish a burst within a few ms; the push debouncer coalesces further, and
    // every ms here is a ms before proxies see the change.
    private readonly quietMs = 100,
  ) {}

  async start(): Promise<void> {
    for (const path of this.paths) {
      const isDir = (await stat(path)).isDirectory();
      // A file is watched through its directory, so editors that replace it (rename over) are seen too.
      const target = isDir ? path : dirname(path);
      const w = watch(target, { recursive: isDir, persistent: false }, (_event, file) => {
        if (!isDir && file && !path.endsWith(String(file))) return;
        this.schedule();
      });
      w.on('error', () => undefined);
      this.watchers.push(w);
    }
  }

  private schedule(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.onChange();
    }, this.quietMs);
  }

  close(): void {
    if (this.timer) clearTimeout(this.timer);
    for (const w of this.watchers) w.close();
    this.watchers = [];
  }
}
