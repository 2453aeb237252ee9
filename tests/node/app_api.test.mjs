// Customer.io's official Node client (customerio-node 5), unmodified, against a running Nudge.
//
// Every APIClient method whose call Nudge has a route for is called here, under both of the App API's
// bases: /v1 (the client's own default shape) and Customer.io's older /v1/api. Each answer is checked
// for what it says, not only for its status. tests/e2e/test_node_client.py starts `nudge local` and runs
// this file with the runtime's contract in the environment:
//   NUDGE_URL, NUDGE_SITE_ID, NUDGE_TRACK_API_KEY, NUDGE_APP_API_KEY
//
// Methods of the client with no Nudge route (left out on purpose): sendWhatsApp, sendInboxMessage,
// getCustomerRelationships, getCustomerSubscriptionPreferences, getCustomersAttributes, objects,
// getSegmentUsedBy, subscription topics/channels/centre, the /transactional and /newsletters and
// /broadcasts families, campaign actions and journey metrics, design studio, assets, collections, ESP
// suppression, reporting webhooks, sender identities, imports, data index, workspaces, ip addresses.

import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, test, before } from 'node:test';

import cio from 'customerio-node';

const { APIClient, TrackClient, CustomerIORequestError, SendEmailRequest, SendSMSRequest, SendPushRequest, SendInAppRequest } = cio;

const URL_ = required('NUDGE_URL');
const SITE_ID = required('NUDGE_SITE_ID');
const TRACK_KEY = required('NUDGE_TRACK_API_KEY');
const APP_KEY = required('NUDGE_APP_API_KEY');
// No retries: a retried request would hide a 5xx, which Nudge must never answer here.
const NO_RETRY = { maxRetries: 0 };

function required(name) {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: run this through tests/e2e/test_node_client.py`);
  return value;
}

// The stream pumps of the local runtime apply a change in well under a second; allow for a busy machine.
async function eventually(check, { timeoutMs = 30_000, what = 'condition' } = {}) {
  const deadline = Date.now() + timeoutMs;
  let last;
  while (Date.now() < deadline) {
    last = await check();
    if (last) return last;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  assert.fail(`${what} not met within ${timeoutMs} ms (last: ${JSON.stringify(last)})`);
}

// A call the client cannot make: creating a template or a campaign, or Nudge's own snippet form
// (PUT /v1/snippets/{name}).
async function appRequest(method, path, body) {
  const answer = await fetch(`${URL_}${path}`, {
    method,
    headers: { authorization: `Bearer ${APP_KEY}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await answer.text();
  assert.ok(answer.ok, `${method} ${path}: ${answer.status} ${text}`);
  return text ? JSON.parse(text) : null;
}

async function rejectsWith(promise, statusCode) {
  await assert.rejects(promise, (error) => {
    assert.ok(error instanceof CustomerIORequestError, `not a CustomerIORequestError: ${error}`);
    assert.equal(error.statusCode, statusCode, error.message);
    return true;
  });
}

for (const base of ['/v1', '/v1/api']) {
  describe(`APIClient at ${base}`, () => {
    const api = new APIClient(APP_KEY, { url: `${URL_}${base}`, retry: NO_RETRY });
    const track = new TrackClient(SITE_ID, TRACK_KEY, { url: `${URL_}/api/v1`, retry: NO_RETRY });
    const tag = randomUUID().slice(0, 8);
    const person = `node-${tag}`;
    const email = `${person}@example.com`;
    const plan = `plan-${tag}`;
    let segmentId;
    let broadcastCampaignId;

    before(async () => {
      await track.identify(person, { email, plan, phone: '+15550100' });
      await track.addDevice(person, `token-${tag}`, 'ios');
    });

    test('getCustomersByEmail finds the person', async () => {
      const found = await api.getCustomersByEmail(email);
      assert.deepEqual(
        found.results.map((r) => [r.id, r.email]),
        [[person, email]],
      );
      assert.match(found.results[0].cio_id, /.+/);
    });

    test('getAttributes reads the profile by id and by email', async () => {
      const byId = await api.getAttributes(person);
      assert.equal(byId.customer.id, person);
      assert.equal(byId.customer.attributes.plan, plan);
      assert.equal(byId.customer.identifiers.email, email);
      assert.deepEqual(
        byId.customer.devices.map((d) => [d.id, d.platform]),
        [[`token-${tag}`, 'ios']],
      );
      const byEmail = await api.getAttributes(email, 'email');
      assert.equal(byEmail.customer.identifiers.cio_id, byId.customer.identifiers.cio_id);
      await rejectsWith(api.getAttributes(`nobody-${tag}`), 404);
    });

    test('segments: create, get, list, count, membership, a person\'s segments, search, delete', async () => {
      const created = await api.createSegment({
        name: `node ${tag}`,
        description: 'made by customerio-node',
        conditions: { attribute: { field: 'plan', operator: 'eq', value: plan } },
      });
      segmentId = created.segment.id;
      assert.equal(typeof segmentId, 'number', 'segment ids are numbers, as Customer.io\'s');
      assert.equal(created.segment.name, `node ${tag}`);
      assert.equal(created.segment.type, 'dynamic');

      const got = await api.getSegment(segmentId);
      assert.deepEqual(got.segment.conditions, created.segment.conditions);
      const listed = await api.listSegments();
      assert.ok(listed.segments.some((s) => s.id === segmentId), 'listSegments includes the new segment');

      await eventually(async () => (await api.getSegmentCustomerCount(segmentId)).count === 1, {
        what: 'the person entered the segment',
      });
      const members = await api.getSegmentMembership(segmentId, { limit: 10 });
      assert.deepEqual(members.ids, [person]);
      assert.equal(members.identifiers[0].email, email);
      const mine = await api.getCustomerSegments(person);
      assert.deepEqual(
        mine.segments.map((s) => s.id),
        [segmentId],
      );

      // Customer.io's filter, with the segment id as a number and as a string: the same answer.
      for (const id of [segmentId, String(segmentId)]) {
        const searched = await api.searchCustomers({ and: [{ segment: { id } }] }, { limit: 10 });
        assert.deepEqual(searched.ids, [person], `searchCustomers with segment id ${JSON.stringify(id)}`);
        assert.equal(searched.identifiers[0].email, email);
      }
      const none = await api.searchCustomers({
        and: [{ segment: { id: segmentId } }, { not: { attribute: { field: 'plan', operator: 'eq', value: plan } } }],
      });
      assert.deepEqual(none.ids, []);

      const deleted = await api.deleteSegment(segmentId);
      assert.ok(deleted === null || deleted === '' || Object.keys(deleted).length === 0, `${JSON.stringify(deleted)}`);
      await rejectsWith(api.getSegment(segmentId), 404);
    });

    test('sendEmail, then the message through getCustomerMessages, getMessages, getMessage, getArchivedMessage', async () => {
      const subject = `Hello ${tag}`;
      const sent = await api.sendEmail(
        new SendEmailRequest({
          to: email,
          identifiers: { id: person },
          from: 'shop@example.com',
          subject,
          body: `<p>Hi {{ customer.plan }}</p>`,
        }),
      );
      const deliveryId = sent.delivery_id;
      assert.match(deliveryId, /.+/);

      const archived = await eventually(
        async () => {
          const answer = await api.getArchivedMessage(deliveryId);
          return answer.archived_message.forgotten === false && answer.archived_message;
        },
        { what: 'the email was sent and archived' },
      );
      assert.equal(archived.subject, subject);
      assert.match(archived.body, new RegExp(`Hi ${plan}`));
      assert.equal(archived.recipient, email);

      const one = await api.getMessage(deliveryId);
      assert.equal(one.message.id, deliveryId);
      assert.equal(one.message.channel, 'email');
      assert.equal(one.message.recipient, email);

      const ofPerson = await api.getCustomerMessages(person, { limit: 10 });
      assert.ok(
        ofPerson.messages.some((m) => m.id === deliveryId),
        'getCustomerMessages lists the delivery',
      );
      const listed = await eventually(
        async () => {
          const page = await api.getMessages({ type: 'email', limit: 50 });
          return page.messages.some((m) => m.id === deliveryId) && page;
        },
        { what: 'getMessages lists the delivery' },
      );
      assert.equal(typeof listed.next, 'string');
      await rejectsWith(api.getMessages({ type: 'carrier-pigeon' }), 400);
      await rejectsWith(api.getMessage(`missing-${tag}`), 404);
    });

    test('sendSMS, sendPush and sendInApp queue a delivery each, to the person', async () => {
      // Customer.io's SMS and in-app requests name a template (the client sends no inline body for them).
      const template = async (channel, body) =>
        (await appRequest('POST', '/v1/templates', { name: `node-${channel}-${tag}`, channel, body })).template.id;
      const sent = {
        sms: await api.sendSMS(
          new SendSMSRequest({
            identifiers: { id: person },
            transactional_message_id: await template('sms', 'Code {{ trigger.code }}'),
            message_data: { code: tag },
          }),
        ),
        push: await api.sendPush(
          new SendPushRequest({ identifiers: { id: person }, title: 'Hi', message: `Shipped ${tag}` }),
        ),
        in_app: await api.sendInApp(
          new SendInAppRequest({
            identifiers: { id: person },
            transactional_message_id: await template('in_app', 'Welcome {{ customer.plan }}'),
          }),
        ),
      };
      for (const [channel, answer] of Object.entries(sent)) {
        const message = (await api.getMessage(answer.delivery_id)).message;
        assert.deepEqual([message.id, message.channel], [answer.delivery_id, channel]);
      }
      const archived = await eventually(
        async () => {
          const answer = (await api.getArchivedMessage(sent.sms.delivery_id)).archived_message;
          return answer.forgotten === false && answer;
        },
        { what: 'the SMS was sent and archived' },
      );
      assert.equal(archived.body, `Code ${tag}`);
    });

    test('listCampaigns, getCampaign, triggerBroadcast, getBroadcastTriggerStatus and errors, getCampaignMetrics', async () => {
      const template = await appRequest('POST', '/v1/templates', {
        name: `node-broadcast-${tag}`,
        channel: 'email',
        subject: `Broadcast ${tag}`,
        body: '<p>{{ trigger.headline }}</p>',
      });
      const created = await appRequest('POST', '/v1/campaigns', {
        campaign: {
          name: `node broadcast ${tag}`,
          trigger: { type: 'api' },
          workflow: { start: 'b1', blocks: { b1: { type: 'send', channel: 'email', template_id: template.template.id } } },
        },
      });
      const campaignId = created.campaign.id;
      broadcastCampaignId = campaignId;
      await appRequest('POST', `/v1/campaigns/${campaignId}/activate`, {});

      const listed = await api.listCampaigns();
      assert.ok(listed.campaigns.some((c) => c.id === campaignId), 'listCampaigns includes it');
      const got = await api.getCampaign(campaignId);
      assert.equal(got.campaign.state, 'active');
      assert.deepEqual(got.campaign.trigger, { type: 'api' });

      const missing = `nobody-else-${tag}`;
      const triggered = await api.triggerBroadcast(campaignId, { headline: `News ${tag}` }, { ids: [person, missing], id_ignore_missing: true });
      assert.match(String(triggered.id), /.+/);
      const status = await eventually(
        async () => {
          const answer = await api.getBroadcastTriggerStatus(campaignId, triggered.id);
          return answer.processed && answer;
        },
        { what: 'the broadcast finished' },
      );
      assert.equal(status.campaign_id, campaignId);
      // Two recipients asked for; the unknown one is skipped (id_ignore_missing) and reported, not created.
      assert.deepEqual([status.recipients, status.started, status.errors], [2, 1, 1]);
      assert.deepEqual(status.skipped, {});
      const errors = await api.getBroadcastTriggerErrors(campaignId, triggered.id);
      assert.deepEqual(errors.errors, [{ identifier: missing, reason: 'not found' }]);

      const metrics = await eventually(
        async () => {
          const answer = (await api.getCampaignMetrics(campaignId)).metrics;
          return answer.campaign.completed === 1 && answer;
        },
        { what: 'the journey completed' },
      );
      assert.deepEqual([metrics.campaign.entered, metrics.campaign.sent, metrics.blocks.b1.sent], [1, 1, 1]);
      await rejectsWith(api.getCampaign(`missing-${tag}`), 404);
    });

    test('getCustomerActivities and listActivities show the person\'s event', async () => {
      const name = `viewed_${tag}`;
      await track.track(person, { name, data: { page: 'pricing' } });
      const mine = await eventually(
        async () => {
          const page = await api.getCustomerActivities(person, { type: 'event', name, limit: 10 });
          return page.activities.length === 1 && page;
        },
        { what: 'the event is in the person\'s activities' },
      );
      assert.deepEqual(
        [mine.activities[0].type, mine.activities[0].name, mine.activities[0].customer_id],
        ['event', name, person],
      );
      assert.deepEqual(mine.activities[0].data, { page: 'pricing' });
      const byEmail = await api.getCustomerActivities(email, { idType: 'email', type: 'event', name });
      assert.equal(byEmail.activities[0].id, mine.activities[0].id);
      const all = await api.listActivities({ type: 'event', name, limit: 10 });
      assert.deepEqual(
        all.activities.map((a) => [a.name, a.customer_id]),
        [[name, person]],
      );
      await rejectsWith(api.listActivities({ type: 'no-such-type' }), 400);
      await rejectsWith(api.getCustomerActivities(`nobody-${tag}`), 404);
    });

    test('createCustomersExport, getExport, listExports, downloadExport; createDeliveriesExport', async () => {
      const started = await api.createCustomersExport({
        and: [{ attribute: { field: 'plan', operator: 'eq', value: plan } }],
      });
      const exportId = started.export.id;
      const done = await eventually(
        async () => {
          const answer = (await api.getExport(exportId)).export;
          assert.notEqual(answer.status, 'failed', answer.reason);
          return answer.status === 'done' && answer;
        },
        { what: 'the export finished' },
      );
      assert.equal(done.total, 1);
      assert.ok((await api.listExports()).exports.some((e) => e.id === exportId), 'listExports lists it');
      const link = await api.downloadExport(exportId);
      const csv = await (await fetch(link.url)).text();
      const [header, ...rows] = csv.trim().split(/\r?\n/);
      assert.ok(header.split(',').includes('id'), header);
      assert.equal(rows.length, 1);
      assert.ok(rows[0].includes(person) && rows[0].includes(email), rows[0]);

      // The broadcast's campaign (the test above) sent the person one email: its deliveries' export.
      assert.ok(broadcastCampaignId, 'the campaigns test ran first');
      const deliveries = await api.createDeliveriesExport(broadcastCampaignId);
      const finished = await eventually(
        async () => {
          const answer = (await api.getExport(deliveries.export.id)).export;
          assert.notEqual(answer.status, 'failed', answer.reason);
          return answer.status === 'done' && answer;
        },
        { what: 'the deliveries export finished' },
      );
      assert.deepEqual([finished.type, finished.total], ['deliveries', 1]);
      await rejectsWith(api.getExport(999_999_999), 404);
    });

    test('snippets: createSnippet, updateSnippet, getSnippets, deleteSnippet', async () => {
      const name = `sig_${tag}`;
      const created = await api.createSnippet({ name, value: `Best, ${tag}` });
      assert.deepEqual([created.snippet.name, created.snippet.value], [name, `Best, ${tag}`]);
      assert.equal(typeof created.snippet.updated_at, 'number');
      await rejectsWith(api.createSnippet({ name, value: 'again' }), 409);

      const updated = await api.updateSnippet({ name, value: `Cheers, ${tag}` });
      assert.equal(updated.snippet.value, `Cheers, ${tag}`);
      const listed = (await api.getSnippets()).snippets.filter((s) => s.name === name);
      assert.deepEqual(
        listed.map((s) => [s.name, s.value, s.body]),
        [[name, `Cheers, ${tag}`, `Cheers, ${tag}`]],
      );
      await rejectsWith(api.updateSnippet({ name: 'has a space', value: 'x' }), 400);

      await api.deleteSnippet(name);
      assert.ok(!(await api.getSnippets()).snippets.some((s) => s.name === name));
    });

    test('a snippet written in Nudge\'s path form is read by the client', async () => {
      const name = `legal_${tag}`;
      await appRequest('PUT', `/v1/snippets/${name}`, { body: `(c) ${tag}` });
      const [listed] = (await api.getSnippets()).snippets.filter((s) => s.name === name);
      assert.deepEqual([listed.value, listed.body], [`(c) ${tag}`, `(c) ${tag}`]);
      await api.deleteSnippet(name);
    });

    test('a wrong key is a 401', async () => {
      const stranger = new APIClient('not-a-key', { url: `${URL_}${base}`, retry: NO_RETRY });
      await rejectsWith(stranger.listSegments(), 401);
    });
  });
}
