"""Functions-framework targets of the restaurant subsystem, one per declared function."""

from restaurant.topology import APP
from shared.runtime.functions import FunctionHost

host = FunctionHost(APP)

profile_bff_api = host.target("profile_bff_api")
profile_bff_profile_trigger = host.target("profile_bff_profile_trigger")
profile_bff_menu_trigger = host.target("profile_bff_menu_trigger")
catalog_esg_egress = host.target("catalog_esg_egress")
kitchen_bff_listener = host.target("kitchen_bff_listener")
kitchen_bff_api = host.target("kitchen_bff_api")
kitchen_bff_trigger = host.target("kitchen_bff_trigger")
kitchen_bff_lapse = host.target("kitchen_bff_lapse")
order_esg_ingress = host.target("order_esg_ingress")
order_esg_egress = host.target("order_esg_egress")
