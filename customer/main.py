"""Functions-framework targets of the customer subsystem: one per declared function."""

from customer.topology import APP
from shared.runtime.functions import FunctionHost

host = FunctionHost(APP)

restaurant_esg_ingress = host.target("restaurant_esg_ingress")
browse_bff_listener = host.target("browse_bff_listener")
browse_bff_api = host.target("browse_bff_api")
account_bff_api = host.target("account_bff_api")
account_bff_trigger = host.target("account_bff_trigger")
checkout_bff_listener = host.target("checkout_bff_listener")
checkout_bff_api = host.target("checkout_bff_api")
checkout_bff_trigger = host.target("checkout_bff_trigger")
checkout_bff_payment_deadline = host.target("checkout_bff_payment_deadline")
payment_esg_processor = host.target("payment_esg_processor")
order_esg_egress = host.target("order_esg_egress")
order_esg_ingress = host.target("order_esg_ingress")
delivery_esg_ingress = host.target("delivery_esg_ingress")
tracking_bff_listener = host.target("tracking_bff_listener")
tracking_bff_api = host.target("tracking_bff_api")
tracking_bff_cancel_requests = host.target("tracking_bff_cancel_requests")
