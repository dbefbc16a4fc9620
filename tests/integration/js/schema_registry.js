// @kafkajs/confluent-schema-registry against sluice registry:
//   node schema_registry.js REGISTRY_URL BROKER
// Registers an Avro schema, encodes a record (Confluent wire format), sends it through the broker
// with kafkajs, reads it back and decodes it with a second client (empty cache, so it fetches
// the schema by id). Prints one JSON line: {"id", "version2id", "header", "decoded", "latest"}.
const { SchemaRegistry, SchemaType } = require('@kafkajs/confluent-schema-registry');
const { Kafka, logLevel } = require('kafkajs');

async function main() {
  const [url, broker] = process.argv.slice(2);
  const schema = {
    type: 'record', name: 'User', namespace: 'io.sluice',
    fields: [
      { name: 'first_name', type: 'string' },
      { name: 'age', type: 'int' },
      { name: 'email', type: ['null', 'string'], default: null },
      { name: 'tags', type: { type: 'array', items: 'string' } },
    ],
  };
  const writer = new SchemaRegistry({ host: url });
  const { id } = await writer.register(
    { type: SchemaType.AVRO, schema: JSON.stringify(schema) },
    { subject: 'users_created-value' });
  const user = { first_name: 'Ada', age: 36, email: 'ada@example.org', tags: ['a', 'b'] };
  const payload = await writer.encode(id, user);

  const kafka = new Kafka({ clientId: 'sluice-sr', brokers: [broker], logLevel: logLevel.WARN });
  const admin = kafka.admin();
  await admin.connect();
  await admin.createTopics({ topics: [{ topic: 'sr_roundtrip', numPartitions: 1 }] });
  await admin.disconnect();
  const producer = kafka.producer();
  await producer.connect();
  await producer.send({ topic: 'sr_roundtrip', acks: -1, messages: [{ value: payload }] });
  await producer.disconnect();
  const consumer = kafka.consumer({ groupId: 'sr-roundtrip' });
  await consumer.connect();
  await consumer.subscribe({ topic: 'sr_roundtrip', fromBeginning: true });
  const got = await new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('no message within 20 s')), 20000);
    consumer.run({ eachMessage: async ({ message }) => { clearTimeout(t); resolve(message.value); } });
  });
  await consumer.disconnect();

  const reader = new SchemaRegistry({ host: url });
  const decoded = await reader.decode(got);
  const latest = await reader.getLatestSchemaId('users_created-value');
  const v2 = await writer.register(
    { type: SchemaType.AVRO, schema: JSON.stringify(schema) }, { subject: 'users_created-value' });
  console.log(JSON.stringify({ id, version2id: v2.id, header: [...got.subarray(0, 5)], decoded,
                               latest }));
}

main().catch((e) => { console.error(e && e.stack ? e.stack : e); process.exit(1); });
