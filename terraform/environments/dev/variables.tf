variable "envelope_schema" {
  description = "The Avro schema every external topic checks messages against (generated: topology.auto.tfvars.json)."
  type = object({
    id         = string
    definition = string
  })
}

variable "subsystems" {
  description = "Every subsystem's topics, functions and indexes, generated from the topology (topology.auto.tfvars.json)."
  type = map(object({
    topics = list(string)
    functions = map(object({
      target          = string
      service         = string
      role            = string
      kind            = string
      public          = bool
      publishes_to    = list(string)
      secrets         = list(string)
      verifies_tokens = bool
      subscription = optional(object({
        id                    = string
        topic                 = string
        producer              = optional(string)
        filter                = string
        ordered               = bool
        ack_deadline_s        = number
        min_backoff_s         = number
        max_backoff_s         = number
        max_delivery_attempts = optional(number)
      }))
      collection = optional(string)
      schedule = optional(object({
        cron = string
      }))
    }))
    firestore_indexes = list(object({
      collection = string
      fields = list(object({
        field_path = string
        order      = string
      }))
    }))
    firestore_ttl_fields = list(object({
      collection = string
      field      = string
    }))
  }))
}

variable "project_ids" {
  description = "Each subsystem's project id in this environment, e.g. { customer = \"acme-fd-customer-dev\", ... }."
  type        = map(string)
}

variable "create_projects" {
  description = "Create the subsystems' projects, one per subsystem (true), or deploy into existing, empty ones (false)."
  type        = bool
  default     = true
}

variable "folder_id" {
  description = "Folder for the new projects (\"folders/123\" or \"123\"); null to use org_id."
  type        = string
  default     = null
}

variable "org_id" {
  description = "Organization for the new projects when folder_id is null."
  type        = string
  default     = null
}

variable "billing_account" {
  description = "Billing account id (XXXXXX-XXXXXX-XXXXXX) for the new projects."
  type        = string
  default     = null
}

variable "region" {
  description = "Region of every regional resource."
  type        = string
  default     = "europe-west1"
}

variable "firestore_location" {
  description = "Location of the Firestore databases (the region, or a multi-region such as eur3)."
  type        = string
  default     = "europe-west1"
}

variable "settings" {
  description = "Extra plain settings by subsystem. The third-party URLs (PAYMENT_PROCESSOR_URL, POS_URL, PUSH_PROVIDER_URL) come from the sandbox and override these."
  type        = map(map(string))
  default     = {}
}

variable "sandbox_project_id" {
  description = "The sandbox's project id (the fakes of the third parties), e.g. \"acme-fd-sandbox-dev\"."
  type        = string
}

variable "sandbox_pos_auto_answer_s" {
  description = "Seconds after which the sandbox's point of sale accepts each order, and then marks it ready (0-3)."
  type        = number
  default     = 2
}

variable "sandbox_pos_callers" {
  description = "The functions whose identity may call the sandbox's (private) point of sale, by subsystem."
  type        = map(list(string))
  default = {
    order = ["pos-esg-to-pos"]
  }
}

variable "secret_settings" {
  description = "Settings held in Secret Manager, by subsystem (names only; add values with gcloud)."
  type        = map(list(string))
  default = {
    customer = ["PAYMENT_PROCESSOR_KEY"]
    order    = ["POS_API_KEY", "POS_WEBHOOK_SECRET"]
    delivery = ["PUSH_PROVIDER_KEY"]
  }
}

variable "url_settings" {
  description = "Settings whose value is one of the subsystem's own function URLs, by subsystem."
  type        = map(map(string))
  default = {
    order = { POS_CALLBACK_URL = "pos-esg-webhook" }
  }
}

variable "archive_dir" {
  description = "Directory of the function source archives (fooddelivery deploy passes it)."
  type        = string
  default     = "../../../build/archives"
}

variable "lake_retention_days" {
  description = "Days an event stays in each subsystem's lake before it is deleted, for a data-retention policy (the lake holds customers' delivery addresses and drivers' names and reported locations); views rebuilt from the lake then see only that window. null (the default) keeps every event for good."
  type        = number
  default     = null

  validation {
    condition     = var.lake_retention_days == null ? true : var.lake_retention_days >= 1 && floor(var.lake_retention_days) == var.lake_retention_days
    error_message = "lake_retention_days is a whole number of days, at least 1, or null (kept for good)."
  }
}

variable "max_instances" {
  description = "Upper bound on each function's instances."
  type        = number
  default     = 3
}

variable "attach_members" {
  description = "By consuming subsystem: its deployer principals, when each team deploys its own subsystem."
  type        = map(list(string))
  default     = {}
}

variable "auth_mode" {
  description = "local-test: BFFs verify tokens signed with a development key kept in Secret Manager (fooddelivery smoke mints them); identity-platform: Identity Platform ID tokens."
  type        = string
  default     = "local-test"

  validation {
    condition     = contains(["local-test", "identity-platform"], var.auth_mode)
    error_message = "auth_mode is local-test or identity-platform."
  }
}

variable "identity_project" {
  description = "The project whose Identity Platform issues the users' tokens (identity-platform mode)."
  type        = string
  default     = null
}

variable "identity_tenant" {
  description = "The Identity Platform tenant whose users sign in (multi-tenancy); null: the project's own users, and tokens of every tenant are refused."
  type        = string
  default     = null
}
