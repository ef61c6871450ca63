"""The message catalogue: every sentence a user reads, in Chinese and English, by code.

The CLI, the HTTP service and reports all format messages through `render`, so the
wording of one error cannot drift between interfaces. Chinese is the default language.
"""

from __future__ import annotations

DEFAULT_LANG = "zh"

MESSAGES: dict[str, dict[str, str]] = {
    # YAML syntax and structure
    "yaml_syntax": {
        "zh": "YAML 语法错误：{detail}。请检查缩进、冒号和引号。",
        "en": "invalid YAML: {detail}. Check indentation, colons and quotes.",
    },
    "yaml_tab": {
        "zh": "缩进中有制表符（Tab）。YAML 只允许用空格缩进，请把 Tab 换成空格。",
        "en": "tab character in indentation. YAML indents with spaces only; replace the tab with spaces.",
    },
    "yaml_fullwidth_colon": {
        "zh": "键“{key}”后面用了全角冒号“：”。请改成半角冒号加空格，例如“{key}: 值”。",
        "en": "full-width colon '：' after key '{key}'. Use an ASCII colon and a space, e.g. '{key}: value'.",
    },
    "yaml_duplicate_key": {
        "zh": "重复的键“{key}”，第一次出现在第 {first_line} 行。同一层级的键只能出现一次，请删除或合并其中一个。",
        "en": "duplicate key '{key}', first defined on line {first_line}. Remove or merge one of them.",
    },
    "yaml_ambiguous_bool": {
        "zh": "“{value}”的含义不明确：旧版 YAML 会把它读成布尔值。表示是/否请写 true 或 false；表示文字请加引号，如 \"{value}\"。",
        "en": "'{value}' is ambiguous: YAML 1.1 reads it as a boolean. Write true or false, or quote it as \"{value}\" for text.",
    },
    "yaml_leading_zero": {
        "zh": "数字“{value}”以 0 开头，旧版 YAML 会把它读成八进制。请去掉前导 0，或加引号作为文字。",
        "en": "number '{value}' has a leading zero, which YAML 1.1 reads as octal. Drop the zero or quote it as text.",
    },
    "yaml_alias": {
        "zh": "规则文件不支持锚点与别名（&、*）。请把内容直接写出来。",
        "en": "anchors and aliases (&, *) are not supported in rule files; write the content out.",
    },
    "yaml_tag": {
        "zh": "不支持 YAML 标签“{tag}”。请删除它。",
        "en": "YAML tag '{tag}' is not supported; remove it.",
    },
    "yaml_too_large": {
        "zh": "文件大小 {size} 字节，超过上限 {limit} 字节。请把规则拆成多个文件。",
        "en": "file is {size} bytes, above the limit of {limit} bytes. Split the rules into several files.",
    },
    "yaml_encoding": {
        "zh": "文件不是 UTF-8 编码：{detail}。请用 UTF-8 保存。",
        "en": "file is not UTF-8: {detail}. Save it as UTF-8.",
    },
    "yaml_bom": {
        "zh": "文件开头有 BOM（字节顺序标记）。已忽略；建议用不带 BOM 的 UTF-8 保存。",
        "en": "file starts with a byte order mark; it was ignored. Save as UTF-8 without BOM.",
    },
    "yaml_empty": {
        "zh": "文件为空。",
        "en": "file is empty.",
    },
    "schema": {
        "zh": "{detail_zh}",
        "en": "{detail_en}",
    },
    "unknown_key": {
        "zh": "不认识的字段“{key}”。这里可写的字段：{allowed}。请检查拼写或删除它。",
        "en": "unknown field '{key}'. Fields allowed here: {allowed}. Check the spelling or remove it.",
    },
    "unknown_key_close": {
        "zh": "不认识的字段“{key}”，是否想写“{close}”？这里可写的字段：{allowed}。",
        "en": "unknown field '{key}'; did you mean '{close}'? Fields allowed here: {allowed}.",
    },
    "missing_file": {
        "zh": "缺少文件 {name}。规则目录应包含 dimensions.yaml、segments.yaml、scoring.yaml、catalogue/ 和 rulesets/。",
        "en": "missing file {name}. A rules directory holds dimensions.yaml, segments.yaml, scoring.yaml, catalogue/ and rulesets/.",
    },
    "dimensions_fixed": {
        "zh": "需求维度的 id 是固定的接口字段，必须依次为：{expected}；实际是：{actual}。只能修改名称与说明。",
        "en": "need dimension ids are fixed API names and must be, in order: {expected}; got: {actual}. Only names and descriptions may change.",
    },
    "unknown_prototype_key": {
        "zh": "原型中的“{name}”既不是家庭特征也不是需求维度。",
        "en": "prototype key '{name}' is neither a household feature nor a need dimension.",
    },
    "unknown_kind": {
        "zh": "没有“{name}”这一类项目。可用类别：{allowed}。",
        "en": "no item kind '{name}'. Kinds: {allowed}.",
    },
    "item_unreachable": {
        "zh": "项目“{name}”没有任何能触发的规则推荐，需求覆盖也为 0，永远不会出现在计划中。请在规则中推荐它，或填写 coverage。",
        "en": "item '{name}' is recommended by no rule that can fire and covers no need, so it can never appear in a plan. Recommend it in a rule or fill in its coverage.",
    },
    "item_unreachable_need": {
        "zh": "项目“{name}”没有任何能触发的规则推荐；需求匹配分最高只有 {best}，低于 scoring.yaml 的 min_need_match {threshold}，永远不会出现在计划中。请在规则中推荐它，或提高 coverage。",
        "en": "item '{name}' is recommended by no rule that can fire, and its need match is at most {best}, below min_need_match {threshold}, so it can never appear in a plan. Recommend it in a rule or raise its coverage.",
    },
    "item_never_eligible": {
        "zh": "项目“{name}”的适用条件永远不成立：{conflicts}。没有家庭能使用这个项目。",
        "en": "the eligibility condition of item '{name}' can never hold: {conflicts_en}. No household can use the item.",
    },
    # Cross-references and conditions
    "unknown_field": {
        "zh": "不认识的字段“{name}”。可用字段：{allowed}。",
        "en": "unknown field '{name}'. Available: {allowed}.",
    },
    "unknown_item": {
        "zh": "目录中没有 id 为“{name}”的项目。{hint}",
        "en": "no catalogue item with id '{name}'. {hint}",
    },
    "unknown_segment": {
        "zh": "没有 id 为“{name}”的人群分类。可用分类：{allowed}。",
        "en": "no segment with id '{name}'. Available: {allowed}.",
    },
    "unknown_tag": {
        "zh": "标签“{name}”没有任何规则用 add_tag 设置过，条件永远不会成立。可用标签：{allowed}。",
        "en": "tag '{name}' is never set by any add_tag action, so the condition can never hold. Set tags: {allowed}.",
    },
    "unknown_dimension": {
        "zh": "没有名为“{name}”的需求维度。十个维度：{allowed}。",
        "en": "no need dimension '{name}'. The ten dimensions: {allowed}.",
    },
    "duplicate_id": {
        "zh": "重复的 id“{name}”，已在 {first} 定义。每条规则、每个项目的 id 必须唯一。",
        "en": "duplicate id '{name}', already defined at {first}. Every rule and item id must be unique.",
    },
    "cond_syntax": {
        "zh": "条件表达式语法错误：{detail_zh}。示例：household.oldest_age >= 65 and needs.elder_care >= 3",
        "en": "condition syntax error: {detail}. Example: household.oldest_age >= 65 and needs.elder_care >= 3",
    },
    "cond_unsupported": {
        "zh": "条件中不能使用“{text}”。只能用字段、数字、文字、比较（== != < <= > >=）、in、and、or、not。",
        "en": "'{text}' is not allowed in a condition. Use fields, numbers, text, comparisons (== != < <= > >=), in, and, or, not.",
    },
    "cond_type": {
        "zh": "类型不匹配：“{field}”是{expected}，不能与 {value} 比较。",
        "en": "type mismatch: '{field}' is {expected_en} and cannot be compared with {value}.",
    },
    "cond_value": {
        "zh": "“{field}”没有取值“{value}”。可用取值：{allowed}。",
        "en": "'{field}' has no value '{value}'. Allowed: {allowed}.",
    },
    "cond_operator": {
        "zh": "“{field}”是{expected}，不能用运算符“{op}”。{hint}",
        "en": "'{field}' is {expected_en} and does not support '{op}'. {hint}",
    },
    "cond_need_range": {
        "zh": "需求分值 {value} 超出范围：需求按 0–4 打分（未知为 -1）。",
        "en": "need score {value} is out of range: needs are scored 0-4 (unknown is -1).",
    },
    "rule_never_fires": {
        "zh": "规则“{rule}”的条件永远不成立：{conflicts}。这条规则不会触发，请修改比较的数值或运算符。",
        "en": "the condition of rule '{rule}' can never hold: {conflicts_en}. The rule never fires; fix the compared values or operators.",
    },
    "tag_never_set": {
        "zh": "标签“{name}”永远不会被设置：设置它的规则（{setters}）要么条件永远不成立，要么要先有这个标签才会触发，所以这里对它的判断永远不成立。请检查这些规则，或删除这里的判断。",
        "en": "tag '{name}' is never set: the rules that set it ({setters}) either never fire or need the tag before they fire, so this test of it never holds. Check those rules, or remove the test.",
    },
    "action_conflict": {
        "zh": "规则“{rule}”排除项目“{item}”，而同为优先级 {priority} 的规则“{other}”（{where}）推荐它，两条规则可能同时成立。请调整其中一条的 priority，写明哪条优先。",
        "en": "rule '{rule}' excludes item '{item}', which rule '{other}' ({where}) recommends at the same priority {priority}, and both can hold at once. Change one priority to state which wins.",
    },
    "segment_conflict": {
        "zh": "规则“{rule}”设置人群分类“{segment}”，而同为优先级 {priority} 的规则“{other}”（{where}）设置“{other_segment}”，两条规则可能同时成立，结果将取决于书写顺序。请为它们设置不同的 priority。",
        "en": "rule '{rule}' sets segment '{segment}' while rule '{other}' ({where}) sets '{other_segment}' at the same priority {priority}, and both can hold at once, so the order of writing decides. Give them different priorities.",
    },
    "recommend_never_eligible": {
        "zh": "规则“{rule}”推荐项目“{item}”，但满足该规则条件的家庭都不符合项目的适用条件：{conflicts}。这条推荐永远不会出现在计划中。",
        "en": "rule '{rule}' recommends item '{item}', but no household meeting the rule's condition is eligible for it: {conflicts_en}. The recommendation never reaches a plan.",
    },
    "rule_cycle": {
        "zh": "规则互相触发形成循环，{rounds} 轮后仍未稳定，涉及规则：{rules}。请检查用 not 否定标签或分类的条件。",
        "en": "rules trigger each other in a cycle and did not settle after {rounds} rounds; rules involved: {rules}. Check conditions that negate tags or segments.",
    },
    # Why and why not (`linli explain`, POST /v1/explain)
    "explain_unknown_item": {
        "zh": "目录中没有 id 为“{item}”的项目。相近的 id：{close}。",
        "en": "no catalogue item with id '{item}'. Similar ids: {close}.",
    },
    "explain_title": {
        "zh": "家庭 {household} · 项目 {item}「{name}」",
        "en": "household {household} · item {item} ({name})",
    },
    "explain_in_plan": {
        "zh": "结论：已列入计划，在{kind}中排第 {rank} 名（该类最多列 {limit} 项），得分 {score}。",
        "en": "verdict: in the plan, rank {rank} among {kind} (up to {limit} listed), score {score}.",
    },
    "explain_excluded": {
        "zh": "结论：未列入。规则 {rule}「{name}」（优先级 {priority}）排除了它：{reason}。已触发的推荐规则中没有优先级更高的。",
        "en": "verdict: not in the plan. Rule {rule} ({name}, priority {priority}) excluded it: {reason}. No fired rule recommending it has a higher priority.",
    },
    "explain_ineligible": {
        "zh": "结论：未列入。{reason}。",
        "en": "verdict: not in the plan. {reason}.",
    },
    "explain_rank_cutoff": {
        "zh": "结论：未列入。它在{kind}中排第 {rank} 名，得分 {score}；该类只列前 {limit} 项，第 {limit} 名得分 {cutoff}。",
        "en": "verdict: not in the plan. It ranks {rank} among {kind} with score {score}; only the top {limit} are listed, and number {limit} scores {cutoff}.",
    },
    "explain_below_threshold": {
        "zh": "结论：未列入。没有规则推荐它（可推荐它的 {rules} 条规则都未触发），需求匹配分 {match} 低于列入门槛 {threshold}（scoring.yaml 的 min_need_match）。",
        "en": "verdict: not in the plan. No rule recommends it (none of the {rules} rules that could did fire), and its need match {match} is below the threshold {threshold} (min_need_match in scoring.yaml).",
    },
    "explain_segment": {
        "zh": "人群分类：{name}（{id}，{how}）",
        "en": "segment: {name} ({id}, {how})",
    },
    "explain_segment_rule": {"zh": "由规则 {rule} 判定", "en": "set by rule {rule}"},
    "explain_segment_model": {"zh": "由聚类模型判定，置信度 {confidence}", "en": "from the clustering model, confidence {confidence}"},
    "explain_segment_default": {"zh": "没有规则判定，使用默认分类", "en": "no rule set it, so the default segment applies"},
    "explain_rules_recommend": {"zh": "可推荐此项目的规则：", "en": "rules that can recommend this item:"},
    "explain_no_rule_recommends": {"zh": "没有规则推荐此项目。", "en": "no rule recommends this item."},
    "explain_rules_exclude": {"zh": "可排除此项目的规则：", "en": "rules that can exclude this item:"},
    "explain_rule_fired": {
        "zh": "  ✓ 已触发 {rule}「{name}」（{file}:{line}，优先级 {priority}，权重 {weight}）：{reason}",
        "en": "  ✓ fired {rule} ({name}; {file}:{line}, priority {priority}, weight {weight}): {reason}",
    },
    "explain_exclude_fired": {
        "zh": "  ✓ 已触发 {rule}「{name}」（{file}:{line}，优先级 {priority}）：{reason}",
        "en": "  ✓ fired {rule} ({name}; {file}:{line}, priority {priority}): {reason}",
    },
    "explain_rule_not_fired": {
        "zh": "  ✗ 未触发 {rule}「{name}」（{file}:{line}，优先级 {priority}），不成立的部分：",
        "en": "  ✗ not fired {rule} ({name}; {file}:{line}, priority {priority}); the parts that failed:",
    },
    "explain_check": {
        "zh": "      {mark} {text}　实际 {field} = {actual}",
        "en": "      {mark} {text}   actual {field} = {actual}",
    },
    "explain_score": {"zh": "得分 {score} = {terms}", "en": "score {score} = {terms}"},
    "explain_term_rule": {"zh": "规则 {rule}", "en": "rule {rule}"},
    "explain_term_needs": {"zh": "需求匹配", "en": "need match"},
    "explain_term_peer": {"zh": "相似家庭", "en": "similar households"},
    "explain_need_match": {
        "zh": "需求匹配分 {match}（无规则推荐时的列入门槛 {threshold}）：{parts}",
        "en": "need match {match} (threshold without a rule: {threshold}): {parts}",
    },
    "explain_need_part": {"zh": "{name} 需求 {need} × 覆盖 {coverage}", "en": "{name} need {need} × coverage {coverage}"},
    "explain_no_need_match": {
        "zh": "需求匹配分 0：此项目覆盖的维度上家庭没有需求（无规则推荐时的列入门槛 {threshold}）。",
        "en": "need match 0: the household has no need in the dimensions this item covers (threshold without a rule: {threshold}).",
    },
    "explain_eligible": {"zh": "适用条件：符合。", "en": "eligibility: met."},
    "explain_not_eligible": {
        "zh": "适用条件：{reason}（成员年龄：{ages}）",
        "en": "eligibility: {reason} (member ages: {ages})",
    },
    "explain_age_range": {
        "zh": "适用年龄 {low}–{high} 岁，家庭中没有该年龄段的成员",
        "en": "Not eligible: for ages {low}–{high}, and no member is in that range",
    },
    "explain_condition_failed": {
        "zh": "不符合适用条件：{when}（{note}）",
        "en": "Not eligible: the condition {when} does not hold ({note})",
    },
    # Input
    "input_json": {
        "zh": "JSON 格式错误（第 {line} 行第 {column} 列）：{detail}。",
        "en": "invalid JSON at line {line}, column {column}: {detail}.",
    },
    "input_file": {
        "zh": "无法读取文件 {path}：{detail}。",
        "en": "cannot read file {path}: {detail}.",
    },
    "input_not_object": {
        "zh": "输入应为一个家庭（JSON 对象）或家庭列表，实际是 {actual}。",
        "en": "input must be one household (a JSON object) or a list of them, got {actual}.",
    },
    "rules_dir": {
        "zh": "规则目录 {path} 不存在或缺少 {missing}。",
        "en": "rules directory {path} does not exist or lacks {missing}.",
    },
    "internal": {
        "zh": "内部错误：{detail}。请把输入与本信息一起报告给维护者。",
        "en": "internal error: {detail}. Report it to the maintainers with the input.",
    },
    # HTTP service
    "http_unauthorized": {
        "zh": "缺少 API 令牌或令牌无效。请在请求头中加入 Authorization: Bearer <令牌>。",
        "en": "missing or invalid API token. Send the header Authorization: Bearer <token>.",
    },
    "http_forbidden": {
        "zh": "令牌的角色（{roles}）无权执行此操作，需要以下角色之一：{required}。",
        "en": "the token's roles ({roles}) do not allow this operation; it needs one of: {required}.",
    },
    "http_not_found": {
        "zh": "地址 {path} 不存在。接口列表见 /docs。",
        "en": "no endpoint at {path}. See /docs for the list.",
    },
    "http_method_not_allowed": {
        "zh": "地址 {path} 不支持 {method} 方法。",
        "en": "{path} does not support the {method} method.",
    },
    "http_body_too_large": {
        "zh": "请求体超过上限 {limit} 字节。请减少一次提交的内容，或分批提交。",
        "en": "request body is larger than the limit of {limit} bytes. Send less at once, or split it.",
    },
    "http_media_type": {
        "zh": "请求体应为 JSON。请设置请求头 Content-Type: application/json。",
        "en": "the request body must be JSON. Set the header Content-Type: application/json.",
    },
    "http_invalid_input": {
        "zh": "请求有 {count} 处错误，第一处在“{field}”：{detail}",
        "en": "{count} error(s) in the request; the first at '{field}': {detail}",
    },
    "http_batch_too_large": {
        "zh": "一次最多提交 {limit} 户家庭，实际提交了 {count} 户。请分批提交。",
        "en": "a batch holds at most {limit} households, got {count}. Split it into smaller batches.",
    },
    "http_rules_invalid": {
        "zh": "规则有 {count} 个错误，第一个在 {location}：{detail}",
        "en": "{count} error(s) in the rules; the first at {location}: {detail}",
    },
    "http_reload_failed": {
        "zh": "规则重新加载失败，继续使用原版本 {version}。共 {count} 个错误，第一个在 {location}：{detail}",
        "en": "rule reload failed; version {version} keeps serving. {count} error(s), the first at {location}: {detail}",
    },
    "http_not_ready": {
        "zh": "服务尚未就绪：规则还没有加载成功。",
        "en": "service not ready: no rule set is loaded yet.",
    },
    "http_error": {
        "zh": "请求失败（HTTP {status}）：{detail}",
        "en": "request failed (HTTP {status}): {detail}",
    },
    "http_internal": {
        "zh": "服务内部错误（请求编号 {request_id}）。请把请求编号报告给维护者。",
        "en": "internal server error (request id {request_id}). Report the request id to the maintainers.",
    },
    "serve_setting": {
        "zh": "配置项 {name} 无效：{detail}",
        "en": "invalid setting {name}: {detail}",
    },
    "serve_setting_value": {
        "zh": "配置项 {name} 的取值 {value} 无效：{detail}",
        "en": "invalid value {value} for setting {name}: {detail}",
    },
    "serve_rules_invalid": {
        "zh": "规则目录 {path} 有错误，服务未启动。请修正上面列出的错误，或用 linli rules check 检查。",
        "en": "the rules in {path} have errors, so the service did not start. Fix the errors above; `linli rules check` lists them too.",
    },
}

# Pydantic error types, translated. The English side keeps pydantic's own message.
FIELD_ERRORS_ZH: dict[str, str] = {
    "missing": "缺少必填字段",
    "extra_forbidden": "不认识的字段，请检查拼写或删除",
    "int_type": "应为整数",
    "int_parsing": "应为整数",
    "int_from_float": "应为整数",
    "float_type": "应为数字",
    "float_parsing": "应为数字",
    "bool_type": "应为 true 或 false",
    "bool_parsing": "应为 true 或 false",
    "string_type": "应为文字",
    "string_too_short": "不能为空",
    "string_too_long": "过长（最多 {max_length} 个字符）",
    "string_pattern_mismatch": "格式不符，应匹配 {pattern}（小写英文字母开头，只含小写字母、数字和下划线）",
    "too_short": "至少需要 {min_length} 项",
    "too_long": "最多 {max_length} 项",
    "greater_than": "应大于 {gt}",
    "greater_than_equal": "应不小于 {ge}",
    "less_than": "应小于 {lt}",
    "less_than_equal": "应不大于 {le}",
    "enum": "取值应为 {expected} 之一",
    "literal_error": "取值应为 {expected} 之一",
    "date_parsing": "日期格式应为 YYYY-MM-DD，例如 2026-11-05",
    "date_from_datetime_parsing": "日期格式应为 YYYY-MM-DD，例如 2026-11-05",
    "date_type": "日期格式应为 YYYY-MM-DD，例如 2026-11-05",
    "list_type": "应为列表",
    "tuple_type": "应为列表",
    "dict_type": "应为键值对（映射）",
    "model_type": "应为键值对（映射）",
    "model_attributes_type": "应为键值对（映射）",
    "need_score": "需求分值应为 0–4 的整数，或写 \"unknown\" 表示未知，实际是 {value}",
    "head_count": "成员中必须恰好有一位户主（relation 为 head），实际有 {count} 位",
    "one_action": "每个动作只能写一个键（set_segment、add_tag、recommend、exclude、follow_up 之一），实际是 {keys}",
    "value_error": "取值无效：{error}",
    "json_invalid": "JSON 格式错误：{error}",
    "settings_no_auth_host": "只有绑定回环地址（127.0.0.1、::1、localhost）时才能关闭认证，当前地址是 {host}。请改为配置 LINLI_TOKENS",
    "settings_no_tokens": "没有配置 API 令牌。请设置 LINLI_TOKENS 或 LINLI_TOKENS_FILE，或在 127.0.0.1 上用 `linli serve --no-auth` 运行",
    "settings_token_short": "每个 API 令牌至少 {min_length} 个字符，且首尾不能有空格。可用此命令生成：python -c 'import secrets; print(secrets.token_urlsafe(32))'",
    "settings_tokens_file": "无法读取令牌文件 {path}：{detail_zh}",
}


def render(code: str, lang: str = DEFAULT_LANG, **params: object) -> str:
    """Format message `code` in `lang`, falling back to Chinese for an unknown language."""
    entry = MESSAGES[code]
    template = entry.get(lang) or entry[DEFAULT_LANG]
    return template.format(**params)


def normalise_lang(value: str | None) -> str:
    """Pick "en" or "zh" from a `--lang` value or an Accept-Language header."""
    if not value:
        return DEFAULT_LANG
    for part in value.split(","):
        tag = part.split(";")[0].strip().lower()
        if tag.startswith("zh"):
            return "zh"
        if tag.startswith("en"):
            return "en"
    return DEFAULT_LANG
