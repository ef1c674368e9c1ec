// FHIR Works on AWS (routing 6.6.2 + persistence-ddb 3.12.0) as a plain local HTTP server.
// Mirrors fhir-works-on-aws-deployment src/config.ts + src/index.ts, minus AWS-only parts:
//   auth    -> stubs.passThroughAuthz (what the deployment itself uses when IS_OFFLINE is set)
//   search  -> no Elasticsearch: 'search-type' not offered; getCapabilities returns {}
//   Binary  -> not offered (S3), bulk export -> not offered
//   DynamoDB-> local dynalite (in memory) started as a child process (dynalite-server.js)
'use strict';
const path = require('path');
const { spawn } = require('child_process');

const PORT = Number(process.env.PORT || 8300);
const HOST = process.env.HOST || '127.0.0.1';
const DDB_PORT = Number(process.env.DYNALITE_PORT || 8301);
const DDB_ENDPOINT = process.env.DYNAMODB_ENDPOINT || `http://127.0.0.1:${DDB_PORT}`;

// Environment the FWoA packages read at require time
process.env.IS_OFFLINE = process.env.IS_OFFLINE || 'true'; // x-ray: context-missing = LOG_ERROR, silent
process.env.AWS_REGION = process.env.AWS_REGION || 'us-east-1';
process.env.ACCESS_KEY = process.env.ACCESS_KEY || 'local';
process.env.SECRET_KEY = process.env.SECRET_KEY || 'local';
process.env.RESOURCE_TABLE = process.env.RESOURCE_TABLE || 'resource-db-dev';
process.env.API_URL = process.env.API_URL || `http://${HOST}:${PORT}`;
process.env.LOG_LEVEL = process.env.LOG_LEVEL || 'error'; // FWoA's winston logger (deployment default: debug)
process.env.AWS_NODEJS_CONNECTION_REUSE_ENABLED = process.env.AWS_NODEJS_CONNECTION_REUSE_ENABLED || '1';

const AWS = require('aws-sdk');
AWS.config.update({
  endpoint: DDB_ENDPOINT,
  region: process.env.AWS_REGION,
  accessKeyId: process.env.ACCESS_KEY,
  secretAccessKey: process.env.SECRET_KEY,
});

const { stubs, BASE_R4_RESOURCES } = require('fhir-works-on-aws-interface');
const { DynamoDb, DynamoDbDataService, DynamoDbBundleService } = require('fhir-works-on-aws-persistence-ddb');
const { generateServerlessRouter } = require('fhir-works-on-aws-routing');
const JsonSchemaValidator = require('fhir-works-on-aws-routing/lib/router/validation/jsonSchemaValidator').default;

const fhirVersion = '4.0.1';
// Update as create (http.html#upsert; off in FWoA's own deployment): the bench loads its directory
// of practitioners and organizations with PUTs to fixed ids. FWOA_UPDATE_CREATE=0 turns it off.
const UPDATE_CREATE = process.env.FWOA_UPDATE_CREATE !== '0';

if (process.env.FWOA_DEBUG_DDB === '1') {
  for (const m of ['batchWriteItem', 'transactWriteItems']) {
    const orig = DynamoDb[m].bind(DynamoDb);
    DynamoDb[m] = (params) => {
      console.error(`[ddb] ${m}`, JSON.stringify(params));
      return orig(params);
    };
  }
}

const noSearch = {
  ...stubs.search,
  async getCapabilities() {
    return {};
  },
};

const dynamoDbDataService = new DynamoDbDataService(DynamoDb, UPDATE_CREATE, { enableMultiTenancy: false });
const dynamoDbBundleService = new DynamoDbBundleService(DynamoDb, UPDATE_CREATE, undefined, { enableMultiTenancy: false });

const fhirConfig = {
  configVersion: 1.0,
  productInfo: { orgName: 'Organization Name' },
  auth: {
    authorization: stubs.passThroughAuthz,
    strategy: {
      service: 'OAuth',
      oauthPolicy: { authorizationEndpoint: 'https://OAUTH2.com/authorize', tokenEndpoint: 'https://OAUTH2.com/token' },
    },
  },
  server: { url: process.env.API_URL },
  validators: process.env.FWOA_NO_VALIDATION === '1' ? [] : [new JsonSchemaValidator(fhirVersion)],
  profile: {
    systemOperations: ['transaction', 'batch'],
    bundle: dynamoDbBundleService,
    systemHistory: stubs.history,
    systemSearch: stubs.search,
    fhirVersion,
    genericResource: {
      operations: ['create', 'read', 'update', 'delete', 'vread'],
      fhirVersions: [fhirVersion],
      persistence: dynamoDbDataService,
      typeSearch: noSearch,
      typeHistory: stubs.history,
    },
  },
};

async function waitForDdb(ddb) {
  for (let i = 0; i < 100; i++) {
    try {
      return await ddb.listTables({}).promise();
    } catch (e) {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  throw new Error(`DynamoDB emulator not reachable at ${DDB_ENDPOINT}`);
}

async function ensureTable() {
  const ddb = new AWS.DynamoDB(); // plain client (no x-ray) for setup
  const { TableNames } = await waitForDdb(ddb);
  if (TableNames.includes(process.env.RESOURCE_TABLE)) return;
  // Same key schema as the deployment's ResourceDynamoDBTableV2: id (S) hash, vid (N) range
  await ddb
    .createTable({
      TableName: process.env.RESOURCE_TABLE,
      AttributeDefinitions: [
        { AttributeName: 'id', AttributeType: 'S' },
        { AttributeName: 'vid', AttributeType: 'N' },
      ],
      KeySchema: [
        { AttributeName: 'id', KeyType: 'HASH' },
        { AttributeName: 'vid', KeyType: 'RANGE' },
      ],
      BillingMode: 'PAY_PER_REQUEST',
    })
    .promise();
  await ddb.waitFor('tableExists', { TableName: process.env.RESOURCE_TABLE }).promise();
}

async function main() {
  let child;
  if (!process.env.DYNAMODB_ENDPOINT) {
    child = spawn(process.execPath, [path.join(__dirname, 'dynalite-server.js')], {
      env: { ...process.env, DYNALITE_PORT: String(DDB_PORT) },
      stdio: 'inherit',
    });
    const stop = () => {
      if (child && child.exitCode === null) child.kill('SIGTERM');
    };
    process.on('exit', stop);
    for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => { stop(); process.exit(0); });
    child.on('exit', (code) => { console.error(`dynalite exited (${code})`); process.exit(1); });
  }
  await ensureTable();
  const app = generateServerlessRouter(fhirConfig, BASE_R4_RESOURCES);
  const server = app.listen(PORT, HOST, () => console.log(`FWoA listening on ${process.env.API_URL} (DynamoDB ${DDB_ENDPOINT})`));
  server.keepAliveTimeout = 65000;
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
