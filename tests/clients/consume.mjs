#!/usr/bin/env node
// Reads healthpipe events with Node's kafkajs and @kafkajs/confluent-schema-registry, as an
// outside team would.
//
// Consumes N messages of a topic from the beginning (a fresh consumer group each run),
// decodes every value with SchemaRegistry.decode (writer's schema fetched from the registry
// by the id in the Confluent wire format; no reader schema of our own) and prints one JSON
// line per message:
//
//     {"key": "<user id>", "record": {...the decoded record...}}
//
// avsc knows no timestamp-micros logical type, so those fields stay longs and print as
// numbers (microseconds since the Unix epoch); bytes print as lowercase hex. Exits non-zero
// with a message on stderr on a timeout or any error. Run by tests/standard_clients.rs.
//
// Usage: node consume.mjs --brokers HOST:PORT --registry URL --topic NAME --count N [--timeout SECONDS]

import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';

import kafkajs from 'kafkajs';
import { SchemaRegistry } from '@kafkajs/confluent-schema-registry';
import lz4 from 'lz4js';

const { CompressionCodecs, CompressionTypes, Kafka, logLevel } = kafkajs;

// The gateway produces with compression.type=lz4, and kafkajs ships only a GZIP codec: without
// a registered LZ4 codec it crashes with "LZ4 compression not implemented". kafkajs' documented
// remedy is a codec package (kafkajs-lz4, which needs a native build); this is the same codec
// on the pure-JavaScript LZ4 frame implementation lz4js.
CompressionCodecs[CompressionTypes.LZ4] = () => ({
  async compress(encoder) {
    return Buffer.from(lz4.compress(encoder.buffer));
  },
  async decompress(buffer) {
    return Buffer.from(lz4.decompress(buffer));
  },
});

function fail(message, code = 1) {
  process.stderr.write(`consume.mjs: ${message}\n`);
  process.exit(code);
}

function jsonable(_key, value) {
  if (typeof value === 'bigint') return Number(value);
  // Buffer.prototype.toJSON runs before the replacer, so bytes arrive as {type, data}.
  if (value && value.type === 'Buffer' && Array.isArray(value.data)) {
    return Buffer.from(value.data).toString('hex');
  }
  if (value instanceof Date) return value.getTime() * 1000;
  return value;
}

let options;
try {
  ({ values: options } = parseArgs({
    options: {
      brokers: { type: 'string' },
      registry: { type: 'string' },
      topic: { type: 'string' },
      count: { type: 'string' },
      timeout: { type: 'string', default: '60' },
    },
  }));
} catch (e) {
  fail(e.message);
}
for (const name of ['brokers', 'registry', 'topic', 'count']) {
  if (!options[name]) fail(`--${name} is required`);
}
const count = Number(options.count);
const timeoutSecs = Number(options.timeout);
if (!Number.isInteger(count) || count < 0) fail(`--count ${options.count} is not a count`);
if (!(timeoutSecs > 0)) fail(`--timeout ${options.timeout} is not a positive number`);

// kafkajs' default logger writes to stdout, which carries our JSON lines: log to stderr.
const stderrLogger = () => ({ namespace, level, log }) => {
  const { message, ...extra } = log;
  process.stderr.write(`consume.mjs: kafkajs ${namespace} [${level}] ${message} ${JSON.stringify(extra)}\n`);
};

const kafka = new Kafka({
  clientId: 'healthpipe-node-check',
  brokers: options.brokers.split(','),
  logLevel: logLevel.ERROR,
  logCreator: stderrLogger,
  retry: { retries: 3 },
});
const registry = new SchemaRegistry({ host: options.registry });
const consumer = kafka.consumer({ groupId: `healthpipe-node-check-${randomUUID()}` });

let seen = 0;
const timer = setTimeout(() => {
  fail(
    `timed out after ${timeoutSecs} s: read ${seen} of ${count} messages from ${options.topic}`,
    2,
  );
}, timeoutSecs * 1000);

let finish;
const done = new Promise((resolve, reject) => {
  finish = { resolve, reject };
});

try {
  await consumer.connect();
  consumer.on(consumer.events.CRASH, (event) => {
    finish.reject(event.payload.error);
  });
  await consumer.subscribe({ topic: options.topic, fromBeginning: true });
  if (count === 0) finish.resolve();
  await consumer.run({
    autoCommit: false,
    eachMessage: async ({ message }) => {
      if (seen >= count) return;
      let record;
      try {
        record = await registry.decode(message.value);
      } catch (e) {
        finish.reject(e);
        return;
      }
      const key = message.key === null ? null : message.key.toString('utf8');
      process.stdout.write(`${JSON.stringify({ key, record }, jsonable)}\n`);
      seen += 1;
      if (seen === count) finish.resolve();
    },
  });
  await done;
} catch (e) {
  fail(`${e.name ?? 'Error'}: ${e.message ?? e}`);
}
clearTimeout(timer);
try {
  await consumer.disconnect();
} catch (e) {
  process.stderr.write(`consume.mjs: disconnect: ${e.message}\n`);
}
process.exit(0);
