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
    "engine_hang": {
        "zh": "规则引擎 durable_rules 在 {seconds} 秒内没有编译完这 {rules} 条规则，已停止。已知原因是同一处的判断过多，例如约 500 处列表判断（'yoga' in household.interests）。请把判断同一列表的规则合并，例如一条规则写 'yoga' in household.interests or 'meditation' in household.interests。",
        "en": "the durable_rules engine did not finish compiling these {rules} rules within {seconds} seconds and was stopped. A known cause is too many tests in one place, e.g. about 500 list tests ('yoga' in household.interests). Merge rules that test the same list, e.g. one rule with 'yoga' in household.interests or 'meditation' in household.interests.",
    },
    "engine_limit": {
        "zh": "规则引擎 durable_rules 无法编译这 {rules} 条规则（{detail}）。错误码 107：写“'x' not in 列表字段”（如 household.interests）的规则超过 128 条；错误码 108：条件完全相同的规则超过 256 条。请把相近的规则合并成一条，例如把同一条件下的推荐写进同一条规则的 then。",
        "en": "the durable_rules engine cannot compile these {rules} rules ({detail}). Code 107: more than 128 rules test \"'x' not in\" a list field such as household.interests; code 108: more than 256 rules have the same condition. Merge similar rules, e.g. put the recommendations of one condition into the then of one rule.",
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
    # Clustering model (`linli model train`, rules/clustering.yaml, rules/model/segmenter.json)
    "clustering_feature": {
        "zh": "“{name}”不是可用于聚类的{kind}家庭特征。可用：{allowed}。",
        "en": "'{name}' is not a household feature the clustering model can use here ({kind_en}). Available: {allowed}.",
    },
    "model_file": {
        "zh": "无法读取模型文件：{detail}。请用 linli model train 重新生成。",
        "en": "cannot read the model file: {detail}. Rebuild it with linli model train.",
    },
    "model_json": {
        "zh": "模型文件不是有效的 JSON（第 {line} 行第 {column} 列：{detail}），可能已损坏。请用 linli model train 重新生成。",
        "en": "the model file is not valid JSON (line {line}, column {column}: {detail}); it may be damaged. Rebuild it with linli model train.",
    },
    "model_format": {
        "zh": "模型文件格式为“{found}”，本程序只能读取 {expected} 第 {version} 版。请用本版本的 linli model train 重新训练。",
        "en": "the model file has format '{found}'; this program reads {expected} version {version} only. Retrain with this version's linli model train.",
    },
    "model_hash": {
        "zh": "模型文件内容与记录的内容哈希不符（记录 {recorded}，实际 {actual}），文件被改动或已损坏。模型文件不能手工编辑，请用 linli model train 重新生成。",
        "en": "the model file does not match its recorded content hash (recorded {recorded}, actual {actual}); it was changed or is damaged. Do not edit model files by hand; rebuild with linli model train.",
    },
    "model_invalid": {
        "zh": "模型文件的 {field} 无效：{detail}。请用 linli model train 重新生成。",
        "en": "invalid {field} in the model file: {detail}. Rebuild it with linli model train.",
    },
    "model_unknown_segment": {
        "zh": "模型把聚类 {cluster} 命名为人群分类“{segment}”，但 segments.yaml 中没有这个分类（现有：{allowed}）。请恢复该分类，或重新训练模型。",
        "en": "the model names cluster {cluster} after segment '{segment}', which segments.yaml does not define (defined: {allowed}). Restore the segment or retrain the model.",
    },
    "train_empty": {
        "zh": "训练数据文件 {path} 是空的。请提供家庭 JSON 数组，可用 python -m fixtures.settled --out FILE 生成。",
        "en": "training data file {path} is empty. Provide a JSON array of households; python -m fixtures.settled --out FILE makes one.",
    },
    "train_invalid_rows": {
        "zh": "训练数据有 {count} 处错误，没有训练模型：",
        "en": "{count} error(s) in the training data; no model was trained:",
    },
    "train_too_few": {
        "zh": "训练数据只有 {count} 户，至少需要 {minimum} 户（clustering.yaml 的 min_households）。请提供更多已定居家庭。",
        "en": "the training data has {count} household(s); at least {minimum} are needed (min_households in clustering.yaml). Provide more settled households.",
    },
    "train_too_few_distinct": {
        "zh": "训练数据中只有 {distinct} 种不同的家庭特征组合，不足以分成 k_min={k_min} 个聚类。请提供更多样的家庭，或调小 clustering.yaml 的 k_min。",
        "en": "the training data has only {distinct} distinct household profiles, too few for k_min={k_min} clusters. Provide more varied households or lower k_min in clustering.yaml.",
    },
    "train_prototype_key": {
        "zh": "segments.yaml 中分类“{segment}”的原型键“{key}”是文字或列表特征，没有典型数值，无法与聚类中心比较。请改用数值特征或需求维度。",
        "en": "prototype key '{key}' of segment '{segment}' in segments.yaml is a text or list feature with no typical number, so it cannot be compared with cluster centres. Use a numeric feature or a need dimension.",
    },
    "train_no_prototypes": {
        "zh": "segments.yaml 中没有任何分类写了原型（prototype），无法给聚类命名。请至少为一个分类写原型。",
        "en": "no segment in segments.yaml has a prototype, so clusters cannot be named. Write a prototype for at least one segment.",
    },
    "train_mismatch": {
        "zh": "保存的模型有 {count} 户的聚类与训练管道不一致，模型文件没有写入。请把本信息报告给维护者。",
        "en": "the stored model assigns {count} household(s) to another cluster than the training pipeline; no model file was written. Report this to the maintainers.",
    },
    "train_data": {"zh": "训练数据：{source}，{count} 户", "en": "training data: {source}, {count} households"},
    "train_progress": {"zh": "选择聚类数 k", "en": "choosing k"},
    "train_silhouette": {"zh": "  k={k}：轮廓系数 {score:.4f}{chosen}", "en": "  k={k}: silhouette {score:.4f}{chosen}"},
    "train_chosen": {"zh": "  ← 选用", "en": "  <- chosen"},
    "train_cluster": {
        "zh": "  聚类 {cluster}：{size} 户（{share:.1%}）→ {name}（{segment}，原型距离 {distance:.3f}）",
        "en": "  cluster {cluster}: {size} households ({share:.1%}) -> {name} ({segment}, prototype distance {distance:.3f})",
    },
    "train_clusters": {"zh": "聚类与人群分类：", "en": "clusters and segments:"},
    "train_unmatched": {
        "zh": "没有聚类对应的分类（这些分类只能由规则判定）：{segments}",
        "en": "segments no cluster maps to (only rules can set them): {segments}",
    },
    "train_written": {
        "zh": "模型已写入 {path}（版本 {version}，k={k}，轮廓系数 {score:.4f}）",
        "en": "model written to {path} (version {version}, k={k}, silhouette {score:.4f})",
    },
    "train_card": {"zh": "模型卡：{json}、{markdown}", "en": "model card: {json}, {markdown}"},
    "train_write": {
        "zh": "无法写入 {path}：{detail}。请检查目录是否存在、是否有写权限，或用 --out 指定其他文件。",
        "en": "cannot write {path}: {detail}. Check that the folder exists and is writable, or choose another file with --out.",
    },
    # Why and why not (`linli explain`, POST /v1/explain)
    "explain_unknown_item": {
        "zh": "目录中没有 id 为“{item}”的项目。相近的 id：{close}。",
        "en": "no catalogue item with id '{item}'. Similar ids: {close}.",
    },
    "explain_pick_household": {
        "zh": "文件中有 {count} 户家庭，请用 --household-id 指定要说明的一户。",
        "en": "the file holds {count} households; choose one with --household-id.",
    },
    "explain_household_not_found": {
        "zh": "文件中没有户编号为“{id}”的家庭。",
        "en": "no household with id '{id}' in the file.",
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
        "zh": "{reason}（成员年龄：{ages}）",
        "en": "{reason} (member ages: {ages})",
    },
    "explain_age_range": {
        "zh": "适用年龄 {low}–{high} 岁，家庭中没有该年龄段的成员",
        "en": "Not eligible: for ages {low}–{high}, and no member is in that range",
    },
    "explain_condition_failed": {
        "zh": "不符合适用条件：{when}（{note}）",
        "en": "Not eligible: the condition {when} does not hold ({note})",
    },
    "check_done": {
        "zh": "检查完成：{errors} 个错误，{warnings} 个警告。",
        "en": "check finished: {errors} error(s), {warnings} warning(s).",
    },
    "check_version": {
        "zh": "规则版本 {version}：{rules} 条规则，{items} 个目录项目。",
        "en": "rule set version {version}: {rules} rules, {items} catalogue items.",
    },
    "schema_written": {"zh": "已写入 {path}", "en": "wrote {path}"},
    # Rule tests (`linli rules test`)
    "test_no_files": {
        "zh": "在 {folder} 中没有找到规则测试文件（*.yaml）。",
        "en": "no rule test files (*.yaml) found in {folder}.",
    },
    "test_unknown_fixture": {
        "zh": "找不到测试家庭“{name}”：{folder} 中没有 {name}.json。可用：{allowed}。",
        "en": "test household '{name}' not found: {folder} has no {name}.json. Available: {allowed}.",
    },
    "test_household": {
        "zh": "测试家庭无效：{field}：{detail}",
        "en": "invalid test household: {field}: {detail_en}",
    },
    "test_unknown_reference": {
        "zh": "没有 id 为“{name}”的{kind}。相近的 id：{close}。",
        "en": "no {kind_en} with id '{name}'. Similar ids: {close}.",
    },
    "test_no_expectation": {
        "zh": "测试没有写任何期望，永远会通过。请至少写一项，例如 segment 或 items。",
        "en": "the test states no expectation, so it always passes. Give at least one, e.g. segment or items.",
    },
    "test_segment": {
        "zh": "{at} 人群分类：期望 {expected}，实际 {actual}（来源 {source}，规则 {rule}）",
        "en": "{at} segment: expected {expected}, got {actual} (source {source}, rule {rule})",
    },
    "test_segment_source": {
        "zh": "{at} 分类来源：期望 {expected}，实际 {actual}",
        "en": "{at} segment source: expected {expected}, got {actual}",
    },
    "test_tag": {
        "zh": "{at} 标签：期望设置 {tag}，实际标签：{actual}",
        "en": "{at} tags: expected {tag} to be set, got: {actual}",
    },
    "test_item_missing": {
        "zh": "{at} 缺少项目 {item}。{why}",
        "en": "{at} item {item} is missing. {why}",
    },
    "test_item_present": {
        "zh": "{at} 项目 {item} 不应列入计划，实际排第 {rank} 名。理由：{reasons}",
        "en": "{at} item {item} should not be in the plan, but ranks {rank}. Reasons: {reasons}",
    },
    "test_order_missing": {
        "zh": "{at} 排序中的项目 {item} 不在计划中",
        "en": "{at} item {item} of the expected order is not in the plan",
    },
    "test_order_kinds": {
        "zh": "{at} 排序只比较同一类项目：{first} 与 {second} 类别不同",
        "en": "{at} order compares items of one kind only: {first} and {second} differ in kind",
    },
    "test_order": {
        "zh": "{at} 排序：期望 {expected}，实际 {actual}",
        "en": "{at} order: expected {expected}, got {actual}",
    },
    "test_reason_item_missing": {
        "zh": "{at} 项目 {item} 不在计划中，无法检查它的理由",
        "en": "{at} item {item} is not in the plan, so its reasons cannot be checked",
    },
    "test_reason": {
        "zh": "{at} 项目 {item} 的理由中没有“{text}”。实际理由：\n{actual}",
        "en": "{at} no reason of item {item} contains '{text}'. Actual reasons:\n{actual}",
    },
    "test_rule_not_fired": {
        "zh": "{at} 规则 {rule} 应触发但未触发，不成立的部分：{parts}",
        "en": "{at} rule {rule} should fire but did not; the parts that failed: {parts}",
    },
    "test_rule_fired": {
        "zh": "{at} 规则 {rule} 不应触发，但触发了",
        "en": "{at} rule {rule} should not fire, but it fired",
    },
    "test_coverage": {
        "zh": "规则覆盖：{covered}/{total} 条规则被测试触发。没有测试触发的规则：",
        "en": "rule coverage: {covered} of {total} rules fired in some test. Rules no test made fire:",
    },
    "test_coverage_full": {
        "zh": "规则覆盖：全部 {total} 条规则都被测试触发。",
        "en": "rule coverage: all {total} rules fired in some test.",
    },
    # Impact of a rule change (`linli rules diff`)
    "diff_no_population": {
        "zh": "找不到人群文件 {path}。请用 --households 指定家庭 JSON 列表，或先运行 python -m fixtures.generate month --out {path} 生成示例月份。",
        "en": "population file {path} not found. Give a JSON list of households with --households, or generate the sample month with python -m fixtures.generate month --out {path}.",
    },
    "diff_rules_invalid": {
        "zh": "规则目录 {path} 有 {count} 个错误，无法比较：",
        "en": "rules directory {path} has {count} error(s) and cannot be compared:",
    },
    "diff_title": {
        "zh": "规则影响分析：旧 {old}（版本 {old_version}）→ 新 {new}（版本 {new_version}），人群 {population}，共 {households} 户",
        "en": "impact of the rule change: old {old} (version {old_version}) -> new {new} (version {new_version}), population {population}, {households} households",
    },
    "diff_affected": {"zh": "受影响：{affected} 户（{share}）", "en": "affected: {affected} households ({share})"},
    "diff_segment_moves": {"zh": "人群分类变化：", "en": "segment changes:"},
    "diff_segment_basis": {
        "zh": "分类不变、判定依据改变（规则 id、model 聚类模型或 default 默认）：",
        "en": "same segment, decided differently (rule id, model or default):",
    },
    "diff_gained": {"zh": "新列入的项目：", "en": "items gained:"},
    "diff_lost": {"zh": "不再列入的项目：", "en": "items lost:"},
    "diff_reranked": {"zh": "名次变化的项目：", "en": "items whose rank changed:"},
    "diff_group": {"zh": "  {label}：{count} 户，例如 {examples}", "en": "  {label}: {count} households, e.g. {examples}"},
    "diff_follow_up": {
        "zh": "跟进日程变化：{count} 户，例如 {examples}",
        "en": "follow-up schedule changed: {count} households, e.g. {examples}",
    },
    "diff_households": {
        "zh": "受影响的家庭（+ 新列入，- 不再列入，~ 名次变化）：",
        "en": "affected households (+ gained, - lost, ~ rank changed):",
    },
    # Coverage of the rule set (`linli rules coverage`)
    "coverage_none": {"zh": "（无）", "en": "(none)"},
    "coverage_dimensions": {
        "zh": "没有规则读取、也没有项目覆盖的需求维度：{names}",
        "en": "need dimensions no rule reads and no item covers: {names}",
    },
    "coverage_levels": {
        "zh": "没有规则或项目对应的需求分值（规则不因该分值触发，项目也不能仅凭该分值列入）：",
        "en": "need levels no rule or item addresses (no rule fires because of the level, and no item is listed on it alone):",
    },
    "coverage_segments": {"zh": "没有服务模块的人群分类：{names}", "en": "segments without a module: {names}"},
    "coverage_kinds": {
        "zh": "人群 {population} 户中，计划里缺少某类项目的家庭：",
        "en": "households of the {population} in the population whose plan lists no item of a kind:",
    },
    "coverage_kind_gap": {"zh": "  {kind}：{count} 户，例如 {examples}", "en": "  {kind}: {count} households, e.g. {examples}"},
    # Input
    "explain_household_not_found": {
        "zh": "找不到家庭“{name}”：既不是文件，也不是示例家庭名。示例家庭有：{known}；也可以给出 JSON 文件路径，或用 - 从标准输入读取。",
        "en": "household '{name}' not found: it is neither a file nor a fixture name. Fixtures: {known}; or give a JSON file path, or - for standard input.",
    },
    "input_empty": {
        "zh": "输入为空：没有读到任何内容。请提供一户家庭的 JSON 对象，示例见 fixtures/households/。",
        "en": "input is empty. Provide one household as a JSON object; examples are in fixtures/households/.",
    },
    "input_not_found": {
        "zh": "找不到文件 {path}。请检查路径；示例家庭在 fixtures/households/ 目录下。",
        "en": "file {path} not found. Check the path; example households are in fixtures/households/.",
    },
    "input_not_utf8": {
        "zh": "文件 {path} 不是 UTF-8 编码（第 {position} 个字节无法解码）。请用 UTF-8 编码另存后重试。",
        "en": "file {path} is not UTF-8 (byte {position} cannot be decoded). Save it as UTF-8 and retry.",
    },
    "input_json": {
        "zh": "JSON 格式错误（第 {line} 行第 {column} 列）：{detail_zh}。",
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
    # Batch matching (linli batch, /v1/batch/jobs)
    "batch_cell": {
        "zh": "第 {row} 行“{column}”列：{detail}",
        "en": "row {row}, column '{column}': {detail}",
    },
    "batch_required": {
        "zh": "必填，不能为空。",
        "en": "required, must not be empty.",
    },
    "batch_bad_date": {
        "zh": "无法识别的日期“{value}”。请写成 2026-03-05、2026/3/5 或 2026年3月5日，或设为 Excel 日期格式。",
        "en": "unrecognised date '{value}'. Write 2026-03-05, 2026/3/5 or 2026年3月5日, or use an Excel date.",
    },
    "batch_bad_bool": {
        "zh": "“{value}”不是是/否。请填“是”或“否”，留空表示“否”。",
        "en": "'{value}' is not yes/no. Write 是 (yes) or 否 (no); blank means no.",
    },
    "batch_bad_choice": {
        "zh": "“{value}”不是可用的取值。可用：{allowed}。",
        "en": "'{value}' is not an allowed value. Allowed: {allowed}.",
    },
    "batch_bad_need": {
        "zh": "需求分值应为 0–4 的整数、等级（{levels}）或“未知”，实际是“{value}”。",
        "en": "a need score is an integer 0-4, a level ({levels}) or 未知 (unknown), got '{value}'.",
    },
    "batch_bad_member": {
        "zh": "第 {index} 位成员：{detail}",
        "en": "member {index}: {detail}",
    },
    "batch_member_relation": {
        "zh": "第一个词应是与户主的关系（{allowed}）。示例：户主 34 白领 在业；配偶 32；子女 4",
        "en": "the first word must be the relation to the head ({allowed}). Example: 户主 34 白领 在业；配偶 32；子女 4",
    },
    "batch_member_relation_order": {
        "zh": "关系要写在最前面，这里它是第 {position} 个词。请把关系移到开头，例如“户主 70 退休”。",
        "en": "the relation must come first, but it is word {position} here. Move it to the start, e.g. 户主 70 退休.",
    },
    "batch_member_age_missing": {
        "zh": "缺少年龄。请在关系后写年龄（阿拉伯数字），例如“户主 70 退休”；不满 1 岁写 0。",
        "en": "the age is missing. Write the age in digits after the relation, e.g. 户主 70 退休; under one year is 0.",
    },
    "batch_member_age_range": {
        "zh": "第 {position} 个词是年龄 {age}，超出 0–{max}。请写周岁，例如 70。",
        "en": "word {position} is the age {age}, outside 0-{max}. Write the age in years, e.g. 70.",
    },
    "batch_member_age_twice": {
        "zh": "年龄写了两次（第 {first} 个词和第 {position} 个词）。每位成员只写一个年龄；两位成员之间用“；”隔开。",
        "en": "the age is given twice (words {first} and {position}). Write one age per member, and separate members with ；.",
    },
    "batch_member_word_chinese_number": {
        "zh": "第 {position} 个词是中文数字。年龄要用阿拉伯数字书写，例如 70 或 70岁。",
        "en": "word {position} is a number in Chinese characters. Write the age in digits, e.g. 70 or 70岁.",
    },
    "batch_member_word_long_number": {
        "zh": "第 {position} 个词是一长串数字，不是年龄。年龄写 0–120 的周岁，例如 70；出生年份、电话和证件号不要写在这一列。",
        "en": "word {position} is a long number, not an age. Write the age in years (0-120), e.g. 70; birth years, phones and ID numbers do not belong in this column.",
    },
    "batch_member_word_age_form": {
        "zh": "第 {position} 个词含数字，但不是年龄的写法。年龄只写整数周岁，例如 70 或 70岁；不满 1 岁写 0。",
        "en": "word {position} contains digits but is not an age. Write whole years only, e.g. 70 or 70岁; under one year is 0.",
    },
    "batch_member_word_relation": {
        "zh": "第 {position} 个词又是一个关系，而每位成员只有一个关系。多位成员之间请用“；”或换行隔开，例如“户主 34；配偶 32”。",
        "en": "word {position} is a second relation, but each member has one. Separate members with ； or a line break, e.g. 户主 34；配偶 32.",
    },
    "batch_member_word_language": {
        "zh": "第 {position} 个词像是语言。语言请写成“语言:英语”，多种语言用 / 隔开，例如“语言:英语/中文”。",
        "en": "word {position} looks like a language. Write languages as 语言:英语, several separated by /, e.g. 语言:英语/中文.",
    },
    "batch_member_word_close": {
        "zh": "第 {position} 个词接近{kind}“{label}”，但多了或少了字。请只写“{label}”。",
        "en": "word {position} is close to the {kind_en} '{label}' but not the same. Write just '{label}'.",
    },
    "batch_member_word": {
        "zh": "第 {position} 个词无法识别（为保护个人信息，不显示原文；姓名等请不要写在这一列）。关系后可写：年龄（阿拉伯数字）、职业（{occupations}）、就业状态（{employments}）、慢病、残疾、语言:英语。",
        "en": "word {position} is not recognised (not shown, to protect personal data; names do not belong in this column). After the relation write: the age in digits, occupation ({occupations}), employment ({employments}), 慢病 (chronic illness), 残疾 (disability), 语言:英语 (languages).",
    },
    "batch_member_language": {
        "zh": "“语言:”后的第 {position} 个语言无法识别。可用：{allowed}，或两三个字母的语言代码（如 en）。",
        "en": "language {position} after '语言:' is not recognised. Allowed: {allowed}, or a two- or three-letter code such as en.",
    },
    "batch_duplicate_id": {
        "zh": "户编号“{value}”与第 {first} 行重复。每户只登记一行，请删除或改正其中一行。",
        "en": "household id '{value}' repeats row {first}. Register each household on one row only.",
    },
    "batch_duplicate_item": {
        "zh": "户编号“{value}”与 households[{first}] 重复。每户只提交一次，请删除或改正其中一项。",
        "en": "household id '{value}' repeats households[{first}]. Submit each household once; delete or correct one of them.",
    },
    "batch_invalid": {
        "zh": "{detail}",
        "en": "{detail}",
    },
    "batch_format": {
        "zh": "无法读取 {file}：不支持“{suffix}”类型的文件。请用 Excel/WPS 另存为 .xlsx 或 .csv 后重试。",
        "en": "cannot read {file}: files of type '{suffix}' are not supported. Save it as .xlsx or .csv in Excel or WPS and retry.",
    },
    "batch_encoding": {
        "zh": "无法读取 {file}：无法识别文字编码（检测结果：{detected}），或者它不是文本文件。请另存为 UTF-8 或 GB18030（GBK）编码的 CSV，或另存为 .xlsx。",
        "en": "cannot read {file}: its text encoding is not recognised (detected: {detected}), or it is not a text file. Save it as a CSV in UTF-8 or GB18030 (GBK), or as .xlsx.",
    },
    "batch_not_text": {
        "zh": "无法读取 {file}：它既不是 .xlsx 工作簿，也不像文本格式的 CSV。请用 Excel/WPS 另存为 .xlsx 或 UTF-8 编码的 .csv 后重试。",
        "en": "cannot read {file}: it is neither an .xlsx workbook nor a text CSV. Save it as .xlsx or as a UTF-8 .csv in Excel or WPS and retry.",
    },
    "batch_file_missing": {
        "zh": "找不到文件 {file}。请检查文件名和所在文件夹。",
        "en": "file {file} not found. Check the file name and its folder.",
    },
    "batch_file_directory": {
        "zh": "无法读取 {file}：这是一个文件夹，不是文件。请给出登记表文件（.xlsx 或 .csv）。",
        "en": "cannot read {file}: it is a folder, not a file. Give the registration sheet (.xlsx or .csv).",
    },
    "batch_file_permission": {
        "zh": "无法读取 {file}：没有读取权限。请检查文件权限，或把文件复制到自己的文件夹后重试。",
        "en": "cannot read {file}: permission denied. Check the file's permissions, or copy it to a folder of your own and retry.",
    },
    "batch_file_unreadable": {
        "zh": "无法读取 {file}（{detail}）。请把文件复制到本机的文件夹后重试。",
        "en": "cannot read {file} ({detail}). Copy the file to a local folder and retry.",
    },
    "batch_file_empty": {
        "zh": "无法读取 {file}：文件为空（0 字节）。请确认选对了文件，或重新导出登记表。",
        "en": "cannot read {file}: the file is empty (0 bytes). Check that it is the right file, or export the sheet again.",
    },
    "batch_not_xlsx": {
        "zh": "无法读取 {file}：文件为空或不是有效的 .xlsx 文件。请用 Excel/WPS 另存为 .xlsx 后重试。",
        "en": "cannot read {file}: the file is empty or not a valid .xlsx file. Save it as .xlsx in Excel or WPS and retry.",
    },
    "batch_xls": {
        "zh": "无法读取 {file}：这是旧版 Excel 97-2003 工作簿（.xls）或设了打开密码的工作簿。请用 Excel/WPS 另存为 .xlsx（不设密码）后重试。",
        "en": "cannot read {file}: it is an old Excel 97-2003 workbook (.xls) or a password-protected one. Save it as .xlsx without a password in Excel or WPS and retry.",
    },
    "batch_csv_invalid": {
        "zh": "无法读取 {file}：第 {line} 行不是有效的 CSV（{detail}）。请用 Excel/WPS 打开后另存为 .xlsx 或 .csv。",
        "en": "cannot read {file}: line {line} is not valid CSV ({detail}). Open it in Excel or WPS and save it as .xlsx or .csv.",
    },
    "batch_no_header": {
        "zh": "{file} 的前 {rows} 行中找不到表头（应有“户编号”列）。请用 linli batch template 生成模板，按模板表头填写。",
        "en": "no header row (with a 户编号 column) in the first {rows} rows of {file}. Write `linli batch template` and follow its headers.",
    },
    "batch_missing_columns": {
        "zh": "{file} 缺少必填列：{columns}。请用 linli batch template 生成模板，对照表头补齐。",
        "en": "{file} lacks required columns: {columns}. Compare with the headers of `linli batch template`.",
    },
    "batch_duplicate_column": {
        "zh": "{file} 中“{column}”列出现了两次（第 {first} 列和第 {second} 列）。请删除其中一列。",
        "en": "column '{column}' appears twice in {file} (columns {first} and {second}). Delete one of them.",
    },
    "batch_ignored_columns": {
        "zh": "已忽略不认识的列：{columns}。",
        "en": "ignored unknown columns: {columns}.",
    },
    "batch_capacity_item": {
        "zh": "“{value}”不是需要分配名额的项目（{kinds}）的 id。可用：{allowed}。",
        "en": "'{value}' is not the id of an item with seats ({kinds}). Allowed: {allowed}.",
    },
    "batch_capacity_seats": {
        "zh": "名额应为不小于 0 的整数，实际是“{value}”。",
        "en": "seats must be an integer of at least 0, got '{value}'.",
    },
    "batch_capacity_file": {
        "zh": "名额表 {file} 有错误：",
        "en": "the capacity file {file} has errors:",
    },
    "batch_summary": {
        "zh": "已处理 {rows} 行：{planned} 户生成计划，{failed} 行有错误；分配名额 {seats} 个，候补 {waiting} 条。结果已写入 {output}",
        "en": "processed {rows} rows: {planned} households planned, {failed} rows with errors; {seats} seats allocated, {waiting} wait-list entries. Written to {output}",
    },
    "batch_blank_rows": {
        "zh": "跳过空行 {count} 行。",
        "en": "skipped {count} blank rows.",
    },
    "batch_template_written": {
        "zh": "模板已写入 {output}。",
        "en": "template written to {output}.",
    },
    "batch_report_written": {
        "zh": "图表报告已写入 {output}。",
        "en": "chart report written to {output}.",
    },
    "batch_output_format": {
        "zh": "无法从文件名 {output} 判断输出格式。请用 .xlsx、.csv 或 .jsonl 结尾，或加 --format。",
        "en": "cannot tell the output format from {output}. End it in .xlsx, .csv or .jsonl, or pass --format.",
    },
    "batch_output_format_conflict": {
        "zh": "--format {format} 与输出文件名 {output} 的扩展名“{suffix}”不一致。请把文件名改为以 .{format} 结尾，或去掉 --format。",
        "en": "--format {format} contradicts the extension '{suffix}' of {output}. End the file name in .{format}, or drop --format.",
    },
    "batch_output_suffix": {
        "zh": "{what}的文件名应以 {suffix} 结尾，实际是 {output}。请改用 {suffix} 结尾的文件名。",
        "en": "the file name of the {what_en} must end in {suffix}, got {output}. Use a name ending in {suffix}.",
    },
    "batch_output_directory": {
        "zh": "无法写入 {output}：这是一个已有的文件夹。请在后面加上文件名，例如 {output}/{example}。",
        "en": "cannot write {output}: it is an existing folder. Add a file name, e.g. {output}/{example}.",
    },
    "batch_output_no_folder": {
        "zh": "无法写入 {output}：文件夹 {folder} 不存在。请先创建这个文件夹，或换一个位置。",
        "en": "cannot write {output}: the folder {folder} does not exist. Create it first, or choose another place.",
    },
    "batch_write_failed": {
        "zh": "无法写入 {output}（{detail}）。已有的同名文件保持不变。请检查磁盘空间和文件夹权限后重试。",
        "en": "cannot write {output} ({detail}). An existing file of that name is unchanged. Check the disk space and the folder's permissions, and retry.",
    },
    "batch_too_many_rows": {
        "zh": "文件超过 {limit} 行数据，已停止。请拆分成多个文件。",
        "en": "the file has more than {limit} data rows, so reading stopped. Split it into several files.",
    },
    "http_batch_job_not_found": {
        "zh": "找不到批量任务 {job_id}。任务结果只保留到服务重启或被更新的任务挤出为止，请重新上传。",
        "en": "no batch job {job_id}. Results are kept until the service restarts or newer jobs push them out; upload again.",
    },
    "http_batch_not_finished": {
        "zh": "批量任务 {job_id} 尚未完成（状态：{status}）。请稍后再下载。",
        "en": "batch job {job_id} has not finished (status: {status}). Download it later.",
    },
    "http_batch_failed": {
        "zh": "批量任务 {job_id} 失败：{detail}",
        "en": "batch job {job_id} failed: {detail}",
    },
    "http_batch_empty": {
        "zh": "请求体为空。请把 .xlsx 或 .csv 文件作为请求体上传。",
        "en": "empty request body. Upload the .xlsx or .csv file as the request body.",
    },
    "http_batch_busy": {
        "zh": "排队中的批量任务已有 {count} 个，达到上限。请等前面的任务完成后再上传。",
        "en": "{count} batch jobs are already queued, the limit. Upload again when earlier jobs finish.",
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
    "http_invalid_body": {
        "zh": "请求体无法解析（{detail}）。请发送 UTF-8 编码的 JSON。",
        "en": "the request body could not be parsed ({detail}). Send JSON encoded as UTF-8.",
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
    "serve_unknown_setting": {
        "zh": "警告：忽略了不认识的配置项 {name}。{hint}",
        "en": "warning: ignored the unknown setting {name}. {hint}",
    },
    "serve_rules_invalid": {
        "zh": "规则目录 {path} 有错误，服务未启动。请修正上面列出的错误，或用 linli rules check 检查。",
        "en": "the rules in {path} have errors, so the service did not start. Fix the errors above; `linli rules check` lists them too.",
    },
}

# Pydantic error types, translated. The English side keeps pydantic's own message.
FIELD_ERRORS_ZH: dict[str, str] = {
    "missing": "缺少必填字段",
    "missing_need": "缺少需求分值：请填 0–4（0 无需求、1 低、2 中、3 高、4 紧急），调查没有覆盖时写 \"unknown\"",
    "extra_forbidden": "不认识的字段，请检查拼写或删除",
    "int_type": "应为整数",
    "int_parsing": "应为整数，请用阿拉伯数字书写，实际是 {value}",
    "int_from_float": "应为整数",
    "float_type": "应为数字",
    "float_parsing": "应为数字",
    "bool_type": "应为 true 或 false",
    "bool_parsing": "应为 true 或 false",
    "string_type": "应为文字",
    "string_too_short": "不能为空",
    "string_too_long": "过长（最多 {max_length} 个字符）",
    # Patterns that need words get their own entry, chosen in engine/errors.py by pattern.
    "string_pattern_mismatch": "格式不符，应匹配正则表达式 {pattern}",
    "id_pattern_mismatch": "格式不符：id 应以小写英文字母开头，只含小写字母、数字和下划线，长 2–64 个字符，例如 mod_newlyweds；实际是 {value}",
    "name_pattern_mismatch": "格式不符：应以小写英文字母开头，只含小写字母、数字和下划线，例如 young_children；实际是 {value}",
    "rule_file_name": "文件名应以小写英文字母或数字开头，只含小写字母、数字、下划线（_）和连字符（-），以 .yaml 结尾，.yaml 之前最多 64 个字符，例如 modules.yaml，实际是 {value}",
    "too_short": "至少需要 {min_length} 项",
    "too_long": "最多 {max_length} 项",
    "greater_than": "应大于 {gt}",
    "greater_than_equal": "应不小于 {ge}",
    "less_than": "应小于 {lt}",
    "less_than_equal": "应不大于 {le}",
    "enum": "取值应为 {expected} 之一",
    "literal_error": "取值应为 {expected} 之一",
    "date_parsing": "日期无效（{detail}），应写成 YYYY-MM-DD，例如 2026-11-05",
    "date_from_datetime_parsing": "日期无效（{detail}），应写成 YYYY-MM-DD，例如 2026-11-05",
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
