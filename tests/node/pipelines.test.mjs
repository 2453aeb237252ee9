// Customer.io's official Pipelines client for Node (@customerio/cdp-analytics-node), unmodified, against a
// running Nudge: every call it makes (identify, track, page, screen, group, alias), batched to /v1/batch
// with the Pipelines key as a Basic user, lands as people, events and objects, read back through the App
// API. tests/e2e/test_node_client.py runs this file with the runtime's contract in the environment:
//   NUDGE_URL, NUDGE_CDP_API_KEY, NUDGE_APP_API_KEY

import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { test } from 'node:test';

import { Analytics } from '@customerio/cdp-analytics-node';

const URL_ = required('NUDGE_URL');
const CDP_KEY = required('NUDGE_CDP_API_KEY');
const APP_KEY = required('NUDGE_APP_API_KEY');

function required(name) {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: run this through tests/e2e/test_node_client.py`);
  return value;
}

async function app(path) {
  const answer = await fetch(`${URL_}${path}`, { headers: { authorization: `Bearer ${APP_KEY}` } });
  return { status: answer.status, body: answer.ok ? await answer.json() : null };
}

// Activities are written by the stream consumers, a moment after the calls.
async function eventually(check, what) {
  const deadline = Date.now() + 30_000;
  let last;
  while (Date.now() < deadline) {
    last = await check();
    if (last) return last;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  assert.fail(`${what} not met in time (last: ${JSON.stringify(last)})`);
}

// Each call's callback says whether its batch was delivered (a 2xx) or failed (anything else).
function delivered(send) {
  return new Promise((resolve, reject) => send((error) => (error ? reject(error) : resolve())));
}

test('every call of the Node Pipelines client lands in Nudge', async () => {
  const person = `node-${randomUUID().slice(0, 8)}`;
  const analytics = new Analytics({ writeKey: CDP_KEY, host: URL_, flushInterval: 100, maxRetries: 0 });
  const requests = [];
  analytics.on('http_request', (request) => requests.push(request));

  await Promise.all([
    delivered((done) => analytics.track({ anonymousId: `${person}-anon`, event: 'viewed_pricing' }, done)),
    delivered((done) => analytics.identify({ userId: person, anonymousId: `${person}-anon`, traits: { email: `${person}@example.com`, plan: 'pro' } }, done)),
    delivered((done) => analytics.track({ userId: person, event: 'purchase', properties: { amount: 10 } }, done)),
    delivered((done) => analytics.page({ userId: person, name: 'Pricing', properties: { url: 'https://shop.example/pricing' } }, done)),
    delivered((done) => analytics.screen({ userId: person, name: 'Home' }, done)),
    delivered((done) => analytics.group({ userId: person, groupId: `${person}-co`, traits: { name: 'Acme', objectTypeId: '1' } }, done)),
    delivered((done) => analytics.alias({ userId: person, previousId: `${person}-old` }, done)),
  ]);
  await analytics.closeAndFlush();

  assert.ok(requests.length >= 1);
  assert.ok(requests.every((r) => r.url === `${URL_}/v1/batch`), JSON.stringify(requests.map((r) => r.url)));
  assert.equal(requests[0].headers.Authorization, `Basic ${Buffer.from(`${CDP_KEY}:`).toString('base64')}`);

  const attributes = await app(`/v1/customers/${person}/attributes`);
  assert.equal(attributes.status, 200);
  assert.equal(attributes.body.customer.attributes.plan, 'pro');
  assert.equal(attributes.body.customer.attributes.email, `${person}@example.com`);

  const seen = await eventually(async () => {
    const { body } = await app(`/v1/customers/${person}/activities?limit=100`);
    const found = new Set((body?.activities ?? []).map((a) => `${a.type}:${a.name}`));
    const wanted = ['event:viewed_pricing', 'event:purchase', 'page:https://shop.example/pricing', 'screen:Home'];
    return wanted.every((w) => found.has(w)) ? found : null;
  }, 'the events, page view and screen view');
  assert.ok(seen.has('event:viewed_pricing')); // the anonymous event, merged on identify
});

test('a wrong key fails the delivery with the status, and nothing lands', async () => {
  const analytics = new Analytics({ writeKey: 'sk_us_nudge_wrong', host: URL_, flushInterval: 100, maxRetries: 0 });
  const person = `node-${randomUUID().slice(0, 8)}`;

  await assert.rejects(
    delivered((done) => analytics.identify({ userId: person, traits: { plan: 'pro' } }, done)),
    (error) => String(error.reason ?? error).includes('401'),
  );
  await analytics.closeAndFlush();
  assert.equal((await app(`/v1/customers/${person}/attributes`)).status, 404);
});
