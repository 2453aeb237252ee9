"""The App API's route table (Bearer app key), compatible with Customer.io where Customer.io has the
call: each resource's routes come from its own module, in this order (the OpenAPI document follows it,
and the local gateway tries routes in it). Errors answer in the App API's shape (see ``functions/api``)."""

from __future__ import annotations

from nudge.http.app_api.activities import ROUTES as ACTIVITY_ROUTES
from nudge.http.app_api.billing import ROUTES as BILLING_ROUTES
from nudge.http.app_api.campaigns import BROADCAST_ROUTES
from nudge.http.app_api.campaigns import ROUTES as CAMPAIGN_ROUTES
from nudge.http.app_api.customers import BY_EMAIL_ROUTES
from nudge.http.app_api.customers import ROUTES as CUSTOMER_ROUTES
from nudge.http.app_api.delivery import ROUTES as DELIVERY_ROUTES
from nudge.http.app_api.exports import ROUTES as EXPORT_ROUTES
from nudge.http.app_api.keys import ROUTES as KEY_ROUTES
from nudge.http.app_api.members import ROUTES as MEMBER_ROUTES
from nudge.http.app_api.newsletters import NEWSLETTER_ROUTES
from nudge.http.app_api.overview import ROUTES as OVERVIEW_ROUTES
from nudge.http.app_api.people import ROUTES as PEOPLE_ROUTES
from nudge.http.app_api.person_changes import ROUTES as PERSON_CHANGE_ROUTES
from nudge.http.app_api.reporting_webhooks import ROUTES as REPORTING_WEBHOOK_ROUTES
from nudge.http.app_api.segments import ROUTES as SEGMENT_ROUTES
from nudge.http.app_api.sessions import ROUTES as SESSION_ROUTES
from nudge.http.app_api.subscriptions import ROUTES as SUBSCRIPTION_ROUTES
from nudge.http.app_api.template_tests import ROUTES as TEMPLATE_TEST_ROUTES
from nudge.http.routing import Route

ROUTES: tuple[Route, ...] = (
    *SEGMENT_ROUTES,
    *BY_EMAIL_ROUTES,
    *PEOPLE_ROUTES,
    *PERSON_CHANGE_ROUTES,
    *CUSTOMER_ROUTES,
    *ACTIVITY_ROUTES,
    *BILLING_ROUTES,
    *DELIVERY_ROUTES,
    *SUBSCRIPTION_ROUTES,
    *TEMPLATE_TEST_ROUTES,
    *CAMPAIGN_ROUTES,
    *BROADCAST_ROUTES,
    *NEWSLETTER_ROUTES,
    *KEY_ROUTES,
    *EXPORT_ROUTES,
    *SESSION_ROUTES,
    *MEMBER_ROUTES,
    *OVERVIEW_ROUTES,
    *REPORTING_WEBHOOK_ROUTES,
)
