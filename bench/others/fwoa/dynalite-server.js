// Local DynamoDB emulator for the FWoA benchmark: dynalite (in-memory) plus a small
// TransactWriteItems / TransactGetItems extension, which dynalite 4.0.0 lacks but
// fhir-works-on-aws-persistence-ddb uses for update (PUT) and transaction bundles.
// Semantics of the extension: all items are validated and all conditions are checked
// first (TransactionCanceledException if any fails), then the writes are applied one by
// one. Transact* calls are serialized through one in-process mutex; they are not
// isolated from concurrent single-item calls (real DynamoDB would be).
'use strict';
const http = require('http');
const dynalite = require('dynalite');
const dbmod = require('dynalite/db');
const validations = require('dynalite/validations');

const PORT = Number(process.env.DYNALITE_PORT || 8301);
const HOST = process.env.DYNALITE_HOST || '127.0.0.1';

// capture dynalite's store (db.create is looked up at call time inside dynalite())
let store;
const origCreate = dbmod.create;
dbmod.create = (opts) => { store = origCreate(opts); return store; };
const inner = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 });
dbmod.create = origCreate;

const ops = {};
for (const name of ['putItem', 'updateItem', 'deleteItem', 'getItem']) {
  ops[name] = {
    action: require('dynalite/actions/' + name),
    validation: require('dynalite/validations/' + name),
  };
}

function validate(name, data) {
  const v = ops[name].validation;
  const d = validations.checkTypes(data, v.types);
  validations.checkValidations(d, v.types, v.custom, store);
  return d;
}

const p = (fn) => new Promise((resolve, reject) => fn((err, r) => (err ? reject(err) : resolve(r))));

let chain = Promise.resolve();
function serialize(fn) {
  const run = chain.then(fn, fn);
  chain = run.catch(() => {});
  return run;
}

async function existingItem(data, keyAttrs, isPut) {
  const table = await p((cb) => store.getTable(data.TableName, cb));
  const invalid = isPut ? dbmod.validateItem(keyAttrs, table) : dbmod.validateKey(keyAttrs, table);
  if (invalid) throw invalid;
  const itemDb = store.getItemDb(data.TableName);
  const key = dbmod.createKey(keyAttrs, table);
  try {
    return await p((cb) => itemDb.get(key, cb));
  } catch (e) {
    if (e.name === 'NotFoundError' || e.code === 'LEVEL_NOT_FOUND') return undefined;
    throw e;
  }
}

async function transactWriteItems(body) {
  const items = body.TransactItems || [];
  if (items.length === 0 || items.length > 100) {
    throw dbmod.validationError('Member must have length between 1 and 100 for TransactItems');
  }
  // 1. validate every item
  const prepared = items.map((ti) => {
    if (ti.Put) return { kind: 'putItem', data: validate('putItem', { ...ti.Put }) };
    if (ti.Update) return { kind: 'updateItem', data: validate('updateItem', { ...ti.Update }) };
    if (ti.Delete) return { kind: 'deleteItem', data: validate('deleteItem', { ...ti.Delete }) };
    if (ti.ConditionCheck) {
      // validate like an updateItem with no update (key + condition)
      const d = validate('deleteItem', { ...ti.ConditionCheck });
      return { kind: 'conditionCheck', data: d };
    }
    throw dbmod.validationError('TransactItem must contain one of Put, Update, Delete, ConditionCheck');
  });
  // real DynamoDB: ValidationException for two operations on the same item
  const seen = new Set();
  for (const { kind, data } of prepared) {
    const k = JSON.stringify([data.TableName, kind === 'putItem' ? null : data.Key]);
    if (kind !== 'putItem' && seen.has(k)) {
      throw dbmod.validationError('Transaction request cannot include multiple operations on one item');
    }
    seen.add(k);
  }
  return serialize(async () => {
    // 2. check all conditions
    const reasons = [];
    let failed = false;
    for (const { kind, data } of prepared) {
      const existing = await existingItem(data, kind === 'putItem' ? data.Item : data.Key, kind === 'putItem');
      const invalid = dbmod.checkConditional(data, existing);
      if (invalid) {
        failed = true;
        reasons.push({ Code: 'ConditionalCheckFailed', Message: 'The conditional request failed' });
      } else {
        reasons.push({ Code: 'None' });
      }
    }
    if (failed) {
      const err = new Error('TransactionCanceled');
      err.statusCode = 400;
      err.body = {
        __type: 'com.amazonaws.dynamodb.v20120810#TransactionCanceledException',
        message: `Transaction cancelled, please refer cancellation reasons for specific reasons [${reasons
          .map((r) => r.Code)
          .join(', ')}]`,
        CancellationReasons: reasons,
      };
      throw err;
    }
    // 3. apply
    for (const { kind, data } of prepared) {
      if (kind === 'conditionCheck') continue;
      await p((cb) => ops[kind].action(store, data, cb));
    }
    return {};
  });
}

async function transactGetItems(body) {
  const items = body.TransactItems || [];
  const prepared = items.map((ti) => validate('getItem', { ...ti.Get }));
  const responses = [];
  for (const data of prepared) {
    const r = await p((cb) => ops.getItem.action(store, data, cb));
    responses.push(r.Item ? { Item: r.Item } : {});
  }
  return { Responses: responses };
}

function send(res, statusCode, obj) {
  const body = JSON.stringify(obj);
  res.statusCode = statusCode;
  res.setHeader('Content-Type', 'application/x-amz-json-1.0');
  res.setHeader('Content-Length', Buffer.byteLength(body));
  res.end(body);
}

const server = http.createServer((req, res) => {
  const target = req.headers['x-amz-target'] || '';
  const op = target.split('.')[1];
  if (op !== 'TransactWriteItems' && op !== 'TransactGetItems') {
    inner.emit('request', req, res);
    return;
  }
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', async () => {
    try {
      const body = JSON.parse(Buffer.concat(chunks).toString() || '{}');
      const out = op === 'TransactWriteItems' ? await transactWriteItems(body) : await transactGetItems(body);
      send(res, 200, out);
    } catch (e) {
      if (e && e.statusCode) return send(res, e.statusCode, e.body);
      console.error('[dynalite-ext] internal error', e);
      send(res, 500, { __type: 'com.amazonaws.dynamodb.v20120810#InternalServerError', message: String(e) });
    }
  });
});
server.keepAliveTimeout = 65000;
server.listen(PORT, HOST, () => console.log(`dynalite (+Transact*) listening on http://${HOST}:${PORT}`));
