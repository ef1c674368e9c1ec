/**
 * Kiln validates FHIR with its own precompiled validators and renders responses itself, so no
 * route of its own declares a Fastify schema. Handing Fastify compilers of our own keeps it from
 * loading ajv and fast-json-stringify (~75 ms of every start-up). A route added to `kiln.app`
 * with a schema fails at registration with this message, unless a compiler is given for it
 * (the route's `validatorCompiler`/`serializerCompiler`, or `app.setValidatorCompiler`).
 */
const refuse = (kind: string, setter: string) => () => {
  throw new Error(`Kiln's Fastify app has no ${kind} compiler of its own: give the route one, or call app.${setter}() (Kiln validates FHIR in its interactions, not with Fastify schemas)`);
};

export const noSchemaCompilers = {
  compilersFactory: { buildValidator: refuse('JSON-schema validator', 'setValidatorCompiler'), buildSerializer: refuse('response serializer', 'setSerializerCompiler') },
};
