/**
 * The ceiling: a bare Fastify server that answers every request with bytes held in memory (set by
 * the bench through PUT /__ceiling), after parsing the JSON body like any JSON API would. What a FHIR
 * server achieves as a fraction of this is meaningful on a noisy machine; raw req/s are not.
 * Prints {"port": N} on stdout once it listens on 127.0.0.1.
 */
import Fastify from 'fastify';

interface Canned {
  status: number;
  headers: Record<string, string>;
  body: string;
}

const canned = new Map<string, Canned>([['GET', { status: 200, headers: { 'content-type': 'application/fhir+json' }, body: '{}' }]]);

const app = Fastify({ logger: false, bodyLimit: 256 * 1024 * 1024 });
app.addContentTypeParser(['application/fhir+json', 'application/json'], { parseAs: 'string' }, (_request, body, done) => {
  try {
    done(null, body === '' ? undefined : JSON.parse(body as string));
  } catch (error) {
    done(error as Error, undefined);
  }
});

app.put('/__ceiling', async (request) => {
  for (const [method, answer] of Object.entries(request.body as Record<string, Canned>)) canned.set(method, answer);
  return { ok: true };
});

app.all('/*', (request, reply) => {
  const answer = canned.get(request.method) ?? canned.get('GET')!;
  reply.code(answer.status).headers(answer.headers);
  return reply.send(answer.body);
});

const stop = () => void app.close().then(() => process.exit(0));
process.once('SIGTERM', stop);
process.once('SIGINT', stop);

await app.listen({ port: 0, host: '127.0.0.1' });
const address = app.server.address();
process.stdout.write(`${JSON.stringify({ port: typeof address === 'object' && address ? address.port : 0 })}\n`);
