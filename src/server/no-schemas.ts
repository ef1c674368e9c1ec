/**
 * Kiln validates FHIR with its own precompiled validators and renders responses itself, so no
 * route declares a Fastify schema. Handing Fastify compilers of our own keeps it from loading
 * ajv and fast-json-stringify (~75 ms of every start-up); a route that does declare a schema
 * fails at registration with this message instead of being validated by something unexpected.
 */
const refuse = (kind: string) => () => {
  throw new Error(`Kiln's Fastify app has no ${kind} compiler: validate in the interaction (src/validation/), not with Fastify route schemas`);
};

export const noSchemaCompilers = {
  compilersFactory: { buildValidator: refuse('JSON-schema validator'), buildSerializer: refuse('response serializer') },
};
