/**
 * The registries against the configuration: every value the schema accepts for `delivery` has a
 * registered mode that compiles and starts such a route, and every registered mode is selectable
 * (by `delivery`, or `echo: true`); the same for `queue.driver` and the queue's DRIVERS lookup.
 * The accepted values are read from the schema (and the JSON Schema shipped for editors), not from
 * the lists the schema is built from, so a mode or driver added on one side only fails here.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { parseConfig } from '../../src/config/load.ts';
import { routeSchema } from '../../src/config/schema.ts';
import { queueSection } from '../../src/config/sections.ts';
import { SecretValues } from '../../src/core/secret-values.ts';
import { Clients } from '../../src/delivery/client.ts';
import { MODES, modeOf, startModes } from '../../src/modes/index.ts';
import { createDriver, DRIVERS } from '../../src/queue/index.ts';
import { createLogger } from '../../src/telemetry/log.ts';
import { createMetrics } from '../../src/telemetry/metrics.ts';
import { ROOT } from '../support/child.ts';
import { compile, configErrors, oneRoute, recordingQueue, yaml } from './support.ts';

type JsonEnum = { enum?: string[] };
const jsonSchema = (schema: z.ZodType) =>
  z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as { properties: Record<string, JsonEnum> };

const acceptedDelivery = jsonSchema(routeSchema).properties.delivery!.enum!;
const acceptedDrivers = jsonSchema(queueSection).properties.driver!.enum!;
const shipped = JSON.parse(readFileSync(join(ROOT, 'docs/hookrelay.schema.json'), 'utf8')) as {
  properties: {
    queue: { properties: { driver: JsonEnum } };
    routes: { items: { properties: { delivery: JsonEnum } } };
  };
};

const silent = createLogger('silent');

describe('delivery modes', () => {
  it('the schema accepts some values for `delivery`, the JSON Schema for editors the same', () => {
    expect(acceptedDelivery.length).toBeGreaterThan(0);
    expect([...shipped.properties.routes.items.properties.delivery.enum!].sort()).toEqual(
      [...acceptedDelivery].sort(),
    );
  });

  it.each(acceptedDelivery)(
    '`delivery: %s` has a registered mode that compiles and starts the route',
    async (type) => {
      const mode = modeOf(type);
      expect(mode.type).toBe(type);
      expect(mode.selector).toBe('delivery');
      const routes = compile(oneRoute(type, 'http://127.0.0.1:9/h'));
      expect(routes.map((route) => route.delivery)).toEqual([type]);
      const started = startModes(routes, {
        clients: new Clients(),
        metrics: createMetrics({ version: 'test', defaultMetrics: false }),
        logger: silent,
        requestIdHeader: 'x-request-id',
        secrets: SecretValues.none,
        queue: recordingQueue(),
      });
      expect([...started.keys()]).toEqual([type]);
      await Promise.all([...started.values()].map((m) => m.close?.()));
    },
  );

  it('every registered mode is selectable: by `delivery`, or echo by `echo: true`', () => {
    for (const mode of MODES) {
      if (mode.selector === 'delivery') expect(acceptedDelivery).toContain(mode.type);
      else {
        expect(acceptedDelivery).not.toContain(mode.type);
        expect(compile(yaml('routes:', '  - id: e', '    path: /e', '    echo: true'))[0]!.delivery).toBe(
          mode.type,
        );
      }
    }
    expect(new Set(MODES.map((mode) => mode.type)).size).toBe(MODES.length);
  });

  it('a value no mode is registered for is refused, naming the accepted ones', () => {
    const [error] = configErrors(oneRoute('fanout', 'http://127.0.0.1:9/h'));
    expect(error).toMatch(/^routes\[0\]\.delivery: /);
    for (const type of acceptedDelivery) expect(error).toContain(type);
    expect(() => modeOf('fanout')).toThrow(
      /unknown delivery mode type 'fanout', expected one of: sync, async/,
    );
  });
});

describe('queue drivers', () => {
  it('the schema accepts exactly the registered drivers, the JSON Schema for editors the same', () => {
    expect([...acceptedDrivers].sort()).toEqual([...DRIVERS.types()].sort());
    expect([...shipped.properties.queue.properties.driver.enum!].sort()).toEqual([...acceptedDrivers].sort());
  });

  it.each(acceptedDrivers)('`queue.driver: %s` loads and its driver opens and closes', async (driver) => {
    const dir = mkdtempSync(join(tmpdir(), 'hookrelay-registry-'));
    try {
      const path = join(dir, 'q.db');
      const config = parseConfig(
        yaml(
          'queue:',
          `  driver: ${driver}`,
          `  path: ${JSON.stringify(path)}`,
          'routes:',
          '  - { id: e, path: /e, echo: true }',
        ),
        'test.yaml',
        { env: {} },
      );
      expect(config.queue.driver).toBe(driver);
      const opened = createDriver(config.queue, silent);
      await opened.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('an unregistered driver is refused by the loader and the lookup', () => {
    const errors = configErrors(
      yaml('queue:', '  driver: kafka', 'routes:', '  - { id: e, path: /e, echo: true }'),
    );
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/^queue\.driver: /);
    expect(() => DRIVERS.get('kafka')).toThrow(/unknown queue driver type 'kafka', expected one of: /);
  });
});
