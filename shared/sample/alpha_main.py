"""Functions-framework targets of the sample subsystem ``alpha``."""

from shared.runtime.functions import FunctionHost
from shared.sample.alpha import APP

host = FunctionHost(APP)

cart_bff_api = host.target("cart_bff_api")
cart_bff_trigger = host.target("cart_bff_trigger")
cart_bff_listener = host.target("cart_bff_listener")
orders_esg_egress = host.target("orders_esg_egress")
orders_esg_ingress = host.target("orders_esg_ingress")
