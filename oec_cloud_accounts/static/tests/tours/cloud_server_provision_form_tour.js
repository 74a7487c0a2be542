/** @odoo-module */
import {loginSteps} from "@oec_cloud_accounts/../tests/tours/tour_login";
import {registry} from "@web/core/registry";

// Whether the element is shown whole: no text cut off inside it, nothing past the window's edge.
function assertReadable(selector) {
    const el = document.querySelector(selector);
    const rect = el.getBoundingClientRect();
    if (el.scrollWidth > el.clientWidth + 1 || rect.left < 0 || rect.right > window.innerWidth + 1) {
        throw new Error(
            `${selector} is cut off at ${window.innerWidth}px: ${el.scrollWidth}px of text in ` +
                `${el.clientWidth}px, from ${rect.left} to ${rect.right}`
        );
    }
}

// Provision from Cloud up to its last step, on a wide or a narrow screen: the
// size, its price and the note on sizes not offered are readable; the SSH
// public key has its label and says it is required.
registry.category("web_tour.tours").add("oec_cloud_accounts_provision_form", {
    test: true,
    steps: () => [
        ...loginSteps("admin"),
        {
            content: "On a narrow screen the control panel buttons are in a dropdown",
            trigger: ".o_control_panel_main_buttons",
            run() {
                const toggle = document.querySelector(
                    ".o_control_panel_collapsed_create.dropdown-toggle"
                );
                if (toggle && toggle.offsetParent) {
                    toggle.click();
                }
            },
        },
        {
            content: "Open Provision from Cloud",
            trigger: ".o_cloud_provision:visible",
        },
        {
            content: "Step 1: Next",
            trigger: ".o_cloud_next_regions",
        },
        {
            content: "Step 2: Next",
            trigger: ".o_cloud_next_sizes",
        },
        {
            content: "Step 3: the size proposed, in words with its price, shown whole",
            trigger: ".o_cloud_size_details:contains(Standard_B2s):contains(a month)",
            run() {
                assertReadable(".o_cloud_size_details .o_field_widget span");
                const input = document.querySelector(".o_field_widget[name=size_option_id] input");
                // a wide screen shows the choice itself whole too
                if (window.innerWidth >= 1000 && input.scrollWidth > input.clientWidth + 1) {
                    throw new Error(`the VM size is cut off: ${input.value}`);
                }
            },
        },
        {
            content: "Look at the sizes: a list at once on a phone, Search More... on a laptop",
            trigger: ".o_field_widget[name=size_option_id] input",
            run: "click",
        },
        {
            content: "(on a laptop, Search More...)",
            trigger: ".o_m2o_dropdown_option_search_more, .o_list_renderer, .o_kanban_renderer",
            run() {
                document.querySelector(".o_m2o_dropdown_option_search_more")?.click();
            },
        },
        {
            content: "Each size with its vCPUs, memory and monthly estimate",
            trigger:
                ".o_list_renderer:has(th:contains(vCPUs)):has(th:contains(a Month)) .o_data_row:contains(Standard_B2s), " +
                ".o_kanban_record:contains(Standard_B2s):contains(vCPU):contains(a month)",
            isCheck: true,
        },
        {
            content: "Close the list",
            trigger: ".o_form_button_cancel",
        },
        {
            content: "The sizes not offered, and why, shown whole",
            trigger: ".o_cloud_size_note:contains(Not offered)",
            run() {
                assertReadable(".o_cloud_size_note .o_field_widget span");
            },
        },
        {
            content: "The SSH public key has its label, marked required",
            trigger: "label.o_form_label:contains(SSH Public Key)",
            run() {
                const label = [...document.querySelectorAll(".modal label.o_form_label")].find((l) =>
                    l.textContent.includes("SSH Public Key")
                );
                const field = document.getElementById(label.getAttribute("for"));
                if (!field || !field.closest(".o_field_widget.o_required_modifier")) {
                    throw new Error("the SSH public key's label names no required field");
                }
            },
        },
        {
            content: "... and says what to paste",
            trigger: ".o_cloud_ssh_key_hint:contains(Required)",
            isCheck: true,
        },
    ],
});
