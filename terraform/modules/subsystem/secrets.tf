# Third-party keys live in Secret Manager, never in tfvars or state: Terraform creates the
# empty secrets, an operator adds the values (`gcloud secrets versions add`, see the README).

locals {
  declared_secrets = sort(distinct(flatten([for fn in values(var.functions) : fn.secrets])))
  secret_ids       = { for name in var.secret_settings : name => replace(lower(name), "_", "-") }
  # local-test auth: the BFFs verify tokens signed with a development key whose public half
  # is in Secret Manager, so `fooddelivery smoke` can mint tokens without an identity provider.
  dev_key_secret = "dev-signing-key"
  dev_key_dir    = "/secrets/dev-signing-key"
}

# A function may only declare a secret the environment creates (secret_settings): the plan
# stops here, naming them, rather than deploying a function without its key.
resource "terraform_data" "declared_secrets" {
  input = local.declared_secrets

  lifecycle {
    precondition {
      condition     = length(setsubtract(local.declared_secrets, var.secret_settings)) == 0
      error_message = "Functions declare secrets that secret_settings does not create: ${join(", ", setsubtract(local.declared_secrets, var.secret_settings))}."
    }
  }
}

resource "google_secret_manager_secret" "setting" {
  for_each = merge(
    { for name, id in local.secret_ids : id => "FOODDELIVERY_${name}" },
    var.auth.mode == "local-test" ? { (local.dev_key_secret) = "the local-test signing key" } : {},
  )

  project   = local.project_id
  secret_id = each.key
  labels    = local.labels

  annotations = {
    holds = each.value
  }

  replication {
    auto {}
  }

  depends_on = [google_project_service.api]
}
