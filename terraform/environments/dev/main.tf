# The dev environment: every subsystem, each in its own project, deletable in full
# (fooddelivery teardown --env dev), with BFFs that accept local-test tokens by default,
# and the sandbox: the third parties (payment processor, push provider, restaurants' point
# of sale) as the fakes of fakes/, in a project of their own. Prod calls the real providers instead.

locals {
  # Where the subsystems find the third parties: the sandbox's fakes, at their cloudfunctions.net
  # URLs, known before they exist. Taking them from module.sandbox instead would close a loop
  # (the sandbox reads the subsystems' secrets and identities); check.sandbox_urls holds them
  # to what was deployed. var.settings may add other plain settings; these three win.
  sandbox_urls = {
    for fake in ["payment-processor", "point-of-sale", "push-provider"] :
    fake => "https://${var.region}-${var.sandbox_project_id}.cloudfunctions.net/${fake}"
  }
  sandbox_settings = {
    customer = { PAYMENT_PROCESSOR_URL = local.sandbox_urls["payment-processor"] }
    order    = { POS_URL = local.sandbox_urls["point-of-sale"], POS_AUDIENCE = local.sandbox_urls["point-of-sale"] }
    delivery = { PUSH_PROVIDER_URL = local.sandbox_urls["push-provider"] }
  }
  settings = {
    for name in setunion(keys(var.settings), keys(local.sandbox_settings)) :
    name => merge(lookup(var.settings, name, {}), lookup(local.sandbox_settings, name, {}))
  }
  # The order subsystem's POS webhook, known before it exists (as modules/subsystem builds it).
  pos_webhook = "https://${var.region}-${var.project_ids["order"]}.cloudfunctions.net/${var.url_settings["order"]["POS_CALLBACK_URL"]}"
}

module "system" {
  source = "../../modules/system"

  env                 = "dev"
  subsystems          = var.subsystems
  envelope_schema     = var.envelope_schema
  project_ids         = var.project_ids
  create_projects     = var.create_projects
  folder_id           = var.folder_id
  org_id              = var.org_id
  billing_account     = var.billing_account
  region              = var.region
  firestore_location  = var.firestore_location
  deletion_protection = false
  settings            = local.settings
  secret_settings     = var.secret_settings
  url_settings        = var.url_settings
  auth                = { mode = var.auth_mode, identity_project = var.identity_project, identity_tenant = var.identity_tenant }
  archive_dir         = var.archive_dir
  max_instances       = var.max_instances
  lake_retention_days = var.lake_retention_days
  attach_members      = var.attach_members
}

# The fakes read the platform's own secrets of their keys (one value for both sides).
module "sandbox" {
  source = "../../modules/sandbox"

  env             = "dev"
  project_id      = var.sandbox_project_id
  create_project  = var.create_projects
  folder_id       = var.folder_id
  org_id          = var.org_id
  billing_account = var.billing_account
  region          = var.region

  secrets = {
    payment_processor_key = { project = module.system.projects["customer"], secret = module.system.secret_ids["customer"]["PAYMENT_PROCESSOR_KEY"] }
    push_provider_key     = { project = module.system.projects["delivery"], secret = module.system.secret_ids["delivery"]["PUSH_PROVIDER_KEY"] }
    pos_api_key           = { project = module.system.projects["order"], secret = module.system.secret_ids["order"]["POS_API_KEY"] }
    pos_webhook_secret    = { project = module.system.projects["order"], secret = module.system.secret_ids["order"]["POS_WEBHOOK_SECRET"] }
  }
  pos_callback_prefix = local.pos_webhook
  pos_invokers = merge([
    for subsystem, functions in var.sandbox_pos_callers : {
      for fn in functions : "${subsystem}/${fn}" => "serviceAccount:${module.system.service_accounts[subsystem][fn]}"
    }
  ]...)
  pos_auto_answer_s   = var.sandbox_pos_auto_answer_s
  source_archive_path = "${var.archive_dir}/fakes.zip"
}

check "sandbox_urls" {
  assert {
    condition     = alltrue([for fake, url in local.sandbox_urls : lookup(module.sandbox.function_urls, fake, null) == url])
    error_message = "The subsystems were given sandbox URLs that are not the fakes' deployed ones: ${jsonencode(module.sandbox.function_urls)}."
  }
}
