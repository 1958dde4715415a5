"""Action, callback and block ids shared by the builders and the listeners."""

# Card buttons and menus (value = conversation id)
ASSIGN_ME = "tl_assign_me"
ASSIGN_OPEN = "tl_assign_open"  # opens the assign modal
TAGS_OPEN = "tl_tags_open"
SNOOZE_MENU = "tl_snooze"  # overflow/static select; option value "<conv_id>:<preset>" or ":pick"
RESOLVE = "tl_resolve"
REOPEN = "tl_reopen"
TEMPLATE_OPEN = "tl_template_open"
NOTE_OPEN = "tl_note_open"
LINK_CUSTOMER_OPEN = "tl_link_customer_open"
PROFILE_OPEN = "tl_profile_open"
SHOW_FULL = "tl_show_full"  # value = message id

# AI triage note buttons. A note has several, and Slack wants unique action_ids per block,
# so each is f"{AI_ACTION}:{n}" (value: JSON {"c": conversation id, "k": kind, "v": name});
# lookups are link buttons (f"{AI_LOOKUP}:{n}"), Slack opens the URL itself.
AI_ACTION = "tl_ai_action"
AI_LOOKUP = "tl_ai_lookup"
AI_ACTION_PATTERN = r"^tl_ai_action(:.*)?$"
AI_LOOKUP_PATTERN = r"^tl_ai_lookup(:.*)?$"

# Undo-send controls (value = message id)
UNDO_SEND = "tl_undo_send"
MAKE_NOTE = "tl_make_note"
RETRY_SEND = "tl_retry_send"  # on a failed reply: send it once more
SEND_HELD = "tl_send_held"  # "Send to customer (anyway)" on a message the policy held back

# Modals (callback ids); private_metadata carries JSON {"conversation_id": ..., ...}
ASSIGN_MODAL = "tl_assign_modal"
TAGS_MODAL = "tl_tags_modal"
SNOOZE_MODAL = "tl_snooze_modal"
TEMPLATE_MODAL = "tl_template_modal"
NOTE_MODAL = "tl_note_modal"
LINK_CUSTOMER_MODAL = "tl_link_customer_modal"
PROFILE_MODAL = "tl_profile_modal"
NEW_CONVERSATION_MODAL = "tl_new_conversation_modal"
FULL_MESSAGE_MODAL = "tl_full_message_modal"

# Inputs inside modals: (block_id, action_id) pairs
ASSIGN_USER = ("assign_user", "user")
ASSIGN_TEAM = ("assign_team", "team")
TAGS_SELECT = ("tags_select", "tags")
TAGS_NEW = ("tags_new", "new_tags")
SNOOZE_AT = ("snooze_at", "when")  # datetimepicker
TEMPLATE_PICK = ("template_pick", "template")  # dispatch_action: refreshes variables/preview
TEMPLATE_VAR_PREFIX = "template_var:"  # block_id = prefix + variable name; action_id "value"
NOTE_TEXT = ("note_text", "text")
CUSTOMER_SEARCH = ("customer_search", "customer")  # external_select (options load)
NEW_ACCOUNT = ("new_account", "account")
NEW_RECIPIENT = ("new_recipient", "recipient")
NEW_SUBJECT = ("new_subject", "subject")
NEW_BODY = ("new_body", "body")
NEW_TEMPLATE = ("new_template", "template")

# Message shortcuts (callback ids) and App Home
SHORTCUT_ASSIGN_ME = "tl_shortcut_assign_me"
SHORTCUT_NOTE = "tl_shortcut_note"
SHORTCUT_SNOOZE = "tl_shortcut_snooze"
SHORTCUT_RESOLVE = "tl_shortcut_resolve"
SHORTCUT_TAGS = "tl_shortcut_tags"
SHORTCUT_TEMPLATE = "tl_shortcut_template"
HOME_TAB = "tl_home_tab"  # value: mine | unassigned | all
# Tab buttons share one actions block and Slack wants unique action_ids per block, so each
# button's action_id is f"{HOME_TAB}:{tab}"; match them with re.compile(HOME_TAB_PATTERN).
HOME_TAB_PATTERN = r"^tl_home_tab(:.*)?$"
HOME_FILTER_STATUS = "tl_home_status"
HOME_FILTER_CHANNEL = "tl_home_channel"
HOME_FILTER_TAG = "tl_home_tag"
HOME_AVAILABILITY = "tl_home_availability"  # value: away | back (the state it asks for)
OPEN_THREAD = "tl_open_thread"  # link buttons to the Slack thread (url), no payload needed
