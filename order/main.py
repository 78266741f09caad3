"""Functions-framework targets of the Order subsystem: one per declared function."""

from order.topology import APP
from shared.runtime.functions import FunctionHost

host = FunctionHost(APP)

intake_esg_from_customer = host.target("intake_esg_from_customer")
intake_esg_from_restaurant = host.target("intake_esg_from_restaurant")
intake_esg_from_delivery = host.target("intake_esg_from_delivery")
lifecycle_control_collector = host.target("lifecycle_control_collector")
lifecycle_control_timeouts = host.target("lifecycle_control_timeouts")
lifecycle_control_rules = host.target("lifecycle_control_rules")
lifecycle_control_announcer = host.target("lifecycle_control_announcer")
pos_esg_to_pos = host.target("pos_esg_to_pos")
pos_esg_webhook = host.target("pos_esg_webhook")
pos_esg_relay = host.target("pos_esg_relay")
status_esg_egress = host.target("status_esg_egress")
