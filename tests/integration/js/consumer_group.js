// kafkajs consumer group member: node consumer_group.js BROKER TOPIC GROUP EXPECTED
// Consumes from the group's committed offsets (the beginning for a new group) until EXPECTED
// messages arrived, describes the group while still a member, commits, leaves and prints one
// JSON line: {"messages": [[partition, offset, value], ...], "group": describeGroups result}.
const { Kafka, logLevel } = require('kafkajs');

async function main() {
  const [broker, topic, groupId, expectedArg] = process.argv.slice(2);
  const expected = Number(expectedArg);
  const kafka = new Kafka({ clientId: 'sluice-kafkajs-consumer', brokers: [broker],
                            logLevel: logLevel.WARN });
  const consumer = kafka.consumer({ groupId, sessionTimeout: 10000, heartbeatInterval: 1000 });
  const messages = [];
  let done;
  const finished = new Promise((resolve) => { done = resolve; });
  // A consumer that crashed for good leaves nothing pending: node would exit 0 with no output.
  consumer.on(consumer.events.CRASH, ({ payload }) => {
    if (payload.restart) return; // kafkajs retries retriable errors by itself
    console.error(`consumer crashed: ${payload.error && payload.error.stack}`);
    process.exit(1);
  });
  const watchdog = setTimeout(() => {
    console.error(`only ${messages.length} of ${expected} messages after 50 s`);
    process.exit(1);
  }, 50000);
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  await consumer.run({
    eachMessage: async ({ partition, message }) => {
      messages.push([partition, Number(message.offset), message.value.toString()]);
      if (messages.length >= expected) done();
    },
  });
  if (expected > 0) await finished;
  // Anything beyond EXPECTED would arrive now.
  await new Promise((r) => setTimeout(r, 500));

  const admin = kafka.admin();
  await admin.connect();
  const group = await admin.describeGroups([groupId]);
  await admin.disconnect();
  await consumer.disconnect();
  clearTimeout(watchdog);
  console.log(JSON.stringify({ messages, group }));
}

main().catch((e) => { console.error(e); process.exit(1); });
