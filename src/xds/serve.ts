/**
 * The control plane's two listening sockets started together: ADS (15010) and monitoring (15014).
 * `sailfin discovery` and `sailfin up` call this with the Istio generator; tests call it with port 0.
 */
import type { Logger } from 'pino';
import type { XdsGenerator } from './generator.js';
import { MonitoringServer } from './monitoring.js';
import type { DebounceOptions } from './push-debouncer.js';
import { AdsServer } from './server.js';

export interface XdsServingOptions {
  generator: XdsGenerator;
  host?: string;
  adsPort?: number;
  monitoringPort?: number;
  logger?: Logger;
  debounce?: Partial<DebounceOptions>;
  /** Extra readiness for /ready, e.g. "the first config snapshot is loaded". */
  isReady?: () => boolean;
}

export interface XdsServing {
  ads: AdsServer;
  monitoring: MonitoringServer;
  adsPort: number;
  monitoringPort: number;
  close(): Promise<void>;
}

export async function serveXds(options: XdsServingOptions): Promise<XdsServing> {
  const ads = new AdsServer({
    generator: options.generator,
    host: options.host,
    port: options.adsPort,
    logger: options.logger,
    debounce: options.debounce,
  });
  const adsPort = await ads.start();
  const monitoring = new MonitoringServer({ ads, host: options.host, port: options.monitoringPort, isReady: options.isReady });
  let monitoringPort: number;
  try {
    monitoringPort = await monitoring.start();
  } catch (err) {
    await ads.close();
    throw err;
  }
  return {
    ads,
    monitoring,
    adsPort,
    monitoringPort,
    async close() {
      await monitoring.close();
      await ads.close();
    },
  };
}
