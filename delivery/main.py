"""Functions-framework targets of the Delivery subsystem, one per declared function."""

from delivery.topology import APP
from shared.runtime.functions import FunctionHost

host = FunctionHost(APP)

order_esg_ingress = host.target("order_esg_ingress")
order_esg_egress = host.target("order_esg_egress")
driver_bff_api = host.target("driver_bff_api")
driver_bff_listener = host.target("driver_bff_listener")
driver_bff_drivers_trigger = host.target("driver_bff_drivers_trigger")
driver_bff_offers_trigger = host.target("driver_bff_offers_trigger")
driver_bff_deliveries_trigger = host.target("driver_bff_deliveries_trigger")
dispatch_control_collector = host.target("dispatch_control_collector")
dispatch_control_rules = host.target("dispatch_control_rules")
dispatch_control_offer_timeouts = host.target("dispatch_control_offer_timeouts")
notification_esg_push = host.target("notification_esg_push")
